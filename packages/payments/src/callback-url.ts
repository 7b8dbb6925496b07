/**
 * Where a hosted checkout may send the buyer back to. The page redirects to it,
 * so anything but a web origin (javascript:, data:, file:) would run or open in
 * the buyer's browser: https only, and plain http just for a loopback host
 * while developing or testing (NODE_ENV development or test).
 */
export interface CallbackUrlRule {
  allowLoopbackHttp: boolean;
}

const LOOPBACK_HOSTS = new Set(['localhost', '[::1]']);
const isLoopback = (hostname: string) => LOOPBACK_HOSTS.has(hostname) || /^127(\.\d{1,3}){3}$/.test(hostname);

/** Why `url` is not an acceptable callback URL, or null when it is. */
export function callbackUrlProblem(url: string, rule: CallbackUrlRule): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'must be an absolute https URL';
  }
  if (parsed.username || parsed.password) return 'must not carry credentials';
  if (parsed.protocol === 'https:') return null;
  if (parsed.protocol === 'http:' && rule.allowLoopbackHttp && isLoopback(parsed.hostname)) return null;
  return rule.allowLoopbackHttp ? 'must be an https URL (http only for localhost / 127.0.0.1 / [::1])' : 'must be an https URL';
}

/** Loopback http is for development and tests only. */
export const callbackUrlRuleFor = (nodeEnv: string): CallbackUrlRule => ({ allowLoopbackHttp: nodeEnv === 'development' || nodeEnv === 'test' });

/** For places that redirect to a URL stored before this rule existed: only ever to a web origin. */
export const isWebUrl = (url: string): boolean => {
  try {
    const { protocol } = new URL(url);
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
};
