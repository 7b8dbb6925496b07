import { dedupGenerations, idDigest } from '@tally/metering';
import { execBatch, keys, loadScript, scripts, type BatchCommand, type RedisClient } from '@tally/redis';

/**
 * A report import claims each event id it is about to store in the same place
 * the metering ledger decides live events: the customer's applied-id hash
 * (`seen:<generation>`). The claim is one atomic HSETNX-like step per id, so
 * whichever comes first wins, whatever the other one is:
 * - a live event applied first (its row may still be on its way to
 *   ClickHouse) holds the field: the import counts the id as a duplicate;
 * - an import claims first: the ledger then sees the id as applied ('*', as
 *   after a rebuild) and the live event is a duplicate: no debit, no row;
 * - two imports: one claim wins, the other counts a duplicate.
 * Claims also live in `import-claims` (digest -> owner = import and chunk)
 * until the rows are stored, so a chunk retried after a crash between claim
 * and insert recognises its own claims and inserts them then.
 * The script: packages/redis/lua/claim-import-ids.3.lua.
 */

/** Long enough for any retry of a chunk (the chunk marker lives as long). */
const OWNER_TTL_SEC = 7 * 24 * 3600;
/** Customers per Redis pipeline round trip. */
const BATCH = 500;

export interface ClaimableEvent {
  id: string;
  customer: string;
}

const claimsKey = (tenantId: string, customerId: string) => keys.custom(keys.customerTag(tenantId, customerId), 'import-claims');

function byCustomer<T extends ClaimableEvent>(events: T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const e of events) {
    const list = groups.get(e.customer);
    if (list) list.push(e);
    else groups.set(e.customer, [e]);
  }
  return groups;
}

/**
 * Claims `events` for `owner` (import id and chunk). Returns those this owner
 * may store (claimed now, or by an earlier attempt of the same chunk) and the
 * number taken by someone else (live traffic or another import).
 */
export async function claimEventIds<T extends ClaimableEvent>(
  redis: RedisClient,
  tenantId: string,
  owner: string,
  events: T[],
  nowMs = Date.now(),
): Promise<{ mine: T[]; taken: number }> {
  const gen = dedupGenerations(nowMs);
  const sha = await loadScript(redis, scripts.claimImportIds.source);
  const groups = [...byCustomer(events)];
  const mine: T[] = [];
  let taken = 0;
  for (let i = 0; i < groups.length; i += BATCH) {
    const batch = groups.slice(i, i + BATCH);
    const commands = batch.map(([customer, list]): BatchCommand => {
      const k = [keys.seenEvents(tenantId, customer, gen.current), keys.seenEvents(tenantId, customer, gen.previous), claimsKey(tenantId, customer)];
      return { key: k[0]!, add: (p) => p.evalsha(sha, k.length, ...k, owner, gen.expireAtMs, OWNER_TTL_SEC, ...list.map((e) => idDigest(e.id))) };
    });
    // one round trip per batch (per slot on a Cluster: a customer's keys share one)
    const replies = await execBatch(redis, commands);
    batch.forEach(([, list], j) => {
      const [err, flags] = replies[j] ?? [new Error('no reply')];
      if (err) throw err;
      list.forEach((e, k) => {
        if ((flags as number[])[k] === 1) mine.push(e);
        else taken++;
      });
    });
  }
  return { mine, taken };
}

/** The rows of these claims are stored (ClickHouse now answers for them): forget who claimed them. */
export async function releaseClaims(redis: RedisClient, tenantId: string, events: ClaimableEvent[]): Promise<void> {
  const groups = [...byCustomer(events)];
  for (let i = 0; i < groups.length; i += BATCH) {
    await execBatch(
      redis,
      groups.slice(i, i + BATCH).map(([customer, list]) => ({ key: claimsKey(tenantId, customer), add: (p) => p.hdel(claimsKey(tenantId, customer), ...list.map((e) => idDigest(e.id))) })),
    );
  }
}
