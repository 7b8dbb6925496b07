import { compareAndDelete, scripts } from '@tally/redis';

/**
 * The Lua scripts of the ledger. Their files and loader live in packages/redis
 * (lua/<name>.<numkeys>.lua, src/scripts.ts), shared with the import claims and
 * the rate limiter; metering code takes them from here.
 */
export const ledgerScripts = {
  check: scripts.check,
  deduct: scripts.deduct,
  applyGrant: scripts.applyGrant,
  revokeGrant: scripts.revokeGrant,
  undoDebit: scripts.undoDebit,
  takeStrictPending: scripts.takeStrictPending,
  claimStrictPending: scripts.claimStrictPending,
  settlePeriod: scripts.settlePeriod,
};

export { compareAndDelete };
