import { callbackUrlProblem, callbackUrlRuleFor } from '@tally/payments';
import { ValidationError } from '@tally/runtime';

/**
 * 400 naming `callbackUrl` unless it is one a hosted checkout may redirect the
 * buyer to (https; http only for loopback hosts in development and test).
 */
export function requireSafeCallbackUrl(callbackUrl: string | undefined, nodeEnv: string): void {
  if (callbackUrl === undefined) return;
  const problem = callbackUrlProblem(callbackUrl, callbackUrlRuleFor(nodeEnv));
  if (problem) throw new ValidationError(`callbackUrl: ${problem}`, [{ path: 'callbackUrl', message: problem }]);
}
