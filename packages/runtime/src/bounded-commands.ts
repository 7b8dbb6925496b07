import { DependencyUnavailableError } from './errors.ts';
import { budgetLeftMs, dependencies, inBudget, waitOn } from './deadline.ts';

/** What boundCommands needs of an ioredis Command (structural: @tally/runtime does not depend on ioredis). */
interface CommandLike {
  isResolved: boolean;
  reject(err: Error): void;
  promise: Promise<unknown>;
}

const BOUNDED = Symbol('bounded');

/**
 * Every command sent on `client` (an ioredis Redis or Cluster) while a request
 * is answered waits at most what is left of the request's budget
 * (docs/operations.md "Budgets"), like ioredis' `commandTimeout` but derived
 * per call: past it the command is rejected with
 * DependencyUnavailableError(dependency) (a 503 naming it) and the dependency
 * is suspected (readiness probes run); while readiness reports it down, a
 * command in a request is refused at once. Outside a request nothing changes.
 * For command connections only: a subscriber's or BullMQ's connection keeps
 * its commands (resubscribes, blocking reads) unbounded.
 */
export function boundCommands<C extends object>(client: C, dependency = 'redis'): C {
  const target = client as unknown as { sendCommand(command: CommandLike, ...rest: unknown[]): unknown };
  const send = target.sendCommand.bind(target);
  target.sendCommand = (command: CommandLike, ...rest: unknown[]) => {
    const marked = command as CommandLike & { [BOUNDED]?: true };
    // a Cluster sends a command again on a redirection: one deadline per command
    if (!inBudget() || marked[BOUNDED]) return send(command, ...rest);
    marked[BOUNDED] = true;
    if (dependencies.isDown(dependency)) {
      command.reject(new DependencyUnavailableError(dependency, new Error(`${dependency} is down (readiness); not waited on`)));
      return command.promise;
    }
    const ms = budgetLeftMs(Number.POSITIVE_INFINITY);
    const done = waitOn(dependency);
    const timer = setTimeout(() => {
      if (command.isResolved) return;
      dependencies.suspect(dependency);
      command.reject(new DependencyUnavailableError(dependency, new Error(`no answer within ${ms} ms`)));
    }, ms);
    const settle = () => {
      clearTimeout(timer);
      done();
    };
    command.promise.then(settle, settle);
    return send(command, ...rest);
  };
  return client;
}
