import type { ConsumedBatch, LogMessage } from '@tally/kafka';
import type { UsageEventMessage } from '@tally/contracts';
import { counter } from '@tally/runtime';
import { eventKey } from '../messages.ts';

const deferredEvents = counter('tally_fair_share_deferred_events_total', 'events the main lane moved to the deferred lane (their tenant was over its share)');

/** Events per produce when moving to the deferred lane (a heartbeat between two). */
const MOVE_CHUNK = 4000;

export interface FairShareOptions {
  /** A tenant with more than this many events in one fetched batch of a partition is moved to the deferred lane. */
  shareEvents: number;
  /** Hands messages to the deferred topic; resolves once the broker acknowledged every one (acks=all). */
  defer: (messages: LogMessage[]) => Promise<void>;
  /** True when the deferred lane's consumer group has completed everything the deferred topic holds. */
  deferredDrained: () => Promise<boolean>;
  /**
   * Where each partition's deferred tenants are kept for the next owner of the partition (after a
   * rebalance or a restart); without it, or when it holds nothing, a new owner defers every tenant
   * until the deferred lane drains.
   */
  store?: {
    load(partition: number): Promise<string[] | null>;
    save(partition: number, tenants: string[]): Promise<void>;
  };
}

export interface ParsedMessage {
  message: ConsumedBatch['messages'][number];
  event: UsageEventMessage;
}

/** What the main lane knows of one of its partitions: where it stopped, and which tenants it sent away. */
interface LaneState {
  nextOffset: string;
  /** Tenants whose events go to the deferred lane until it has drained; 'all' while that is not known. */
  deferred: Set<string> | 'all';
  /** Step (FairShare.step) of this partition's last hand-off to the deferred lane: a drained answer must be asked later. */
  lastDeferStep: number;
}

/**
 * Fair share between tenants in the metering pipeline.
 *
 * The events topic is one FIFO per partition, and a partition holds many
 * tenants: without this, a tenant flooding ingest faster than the workers
 * apply puts its whole backlog ahead of every other tenant of the partition.
 * So the main lane reads each batch, and a tenant with more than
 * `shareEvents` events in it goes to a second topic (the deferred lane, its
 * own consumer group, the same deduct jobs); the main lane applies the rest.
 * Moving an event on costs one produce, far less than applying it, so the
 * main lane keeps up with a flood and a quiet tenant waits for about one
 * batch, whatever the backlog (bound: docs/metering.md "Fair share").
 *
 * Exactness is kept:
 * - at-least-once: the main lane's offset is committed only after the
 *   deferred lane's broker acknowledged the moved events (defer resolves) and
 *   the job of the kept ones completed; a crash in between moves or applies
 *   them again, and the ledger applies each event id once.
 * - per-customer order: a tenant, once deferred, stays deferred (all its
 *   events, in offset order, to one deferred partition per key) until the
 *   deferred lane has completed everything it holds - only then can its
 *   events take the main lane again, behind nothing of theirs. A partition
 *   whose history this process does not know (start, rebalance, redelivery:
 *   the batch does not start where the last one ended) starts from the
 *   deferred tenants its last owner saved (`store`, in Redis), or, with none
 *   saved (Redis lost), defers every tenant until the deferred lane is seen
 *   drained.
 */
export class FairShare {
  private readonly lanes = new Map<number, LaneState>();
  private drainedSeen: { step: number; atMs: number; drained: boolean } | null = null;
  /** Orders hand-offs and drained questions (milliseconds are too coarse to tell which came first). */
  private step = 0;

  constructor(private readonly options: FairShareOptions) {}

  /** Moves the events of tenants over their share to the deferred lane; resolves with the events the main lane applies. */
  async route(batch: ConsumedBatch, parsed: ParsedMessage[]): Promise<ParsedMessage[]> {
    const first = batch.messages[0]?.offset;
    let lane = this.lanes.get(batch.partition);
    if (!lane || lane.nextOffset !== first) {
      // unknown past: what the last owner saved, else everything; only a drained answer asked from now on
      // lets a tenant back on the main lane
      const saved = await this.options.store?.load(batch.partition);
      lane = { nextOffset: batch.nextOffset, deferred: saved ? new Set(saved) : 'all', lastDeferStep: ++this.step };
      this.lanes.set(batch.partition, lane);
    }
    lane.nextOffset = batch.nextOffset;
    let changed = false;
    if ((lane.deferred === 'all' || lane.deferred.size > 0) && (await this.drainedSince(lane.lastDeferStep))) {
      lane.deferred = new Set();
      changed = true;
    }

    const deferred = lane.deferred;
    if (deferred !== 'all') {
      const perTenant = new Map<string, number>();
      for (const p of parsed) perTenant.set(p.event.tenantId, (perTenant.get(p.event.tenantId) ?? 0) + 1);
      for (const [tenant, n] of perTenant) {
        if (n > this.options.shareEvents && !deferred.has(tenant)) {
          deferred.add(tenant);
          changed = true;
        }
      }
      // saved before anything is moved: a next owner must know every tenant that may have events deferred
      if (changed) await this.options.store?.save(batch.partition, [...deferred]);
    }
    const kept: ParsedMessage[] = [];
    const moved: LogMessage[] = [];
    for (const p of parsed) {
      if (deferred === 'all' || deferred.has(p.event.tenantId)) {
        moved.push({ key: p.message.key ?? eventKey(p.event.tenantId, p.event.customer), value: p.message.value! });
      } else kept.push(p);
    }
    // in parts, with a heartbeat after each: a large move on a loaded machine outlasts the group session
    // (10 s), and a member dropped mid-batch gets the batch again, with its history forgotten
    for (let i = 0; i < moved.length; i += MOVE_CHUNK) {
      await this.options.defer(moved.slice(i, i + MOVE_CHUNK));
      lane.lastDeferStep = ++this.step;
      deferredEvents.inc(Math.min(MOVE_CHUNK, moved.length - i));
      await batch.heartbeat?.();
    }
    return kept;
  }

  /**
   * Whether the deferred lane completed everything it held at some moment
   * after step `since` (this partition's last hand-off). One answer serves
   * every partition for up to 200 ms; an answer asked before a later
   * hand-off never clears it.
   */
  private async drainedSince(since: number): Promise<boolean> {
    const seen = this.drainedSeen;
    if (seen && seen.step > since && Date.now() - seen.atMs < 200) return seen.drained;
    const step = ++this.step;
    const atMs = Date.now();
    const drained = await this.options.deferredDrained();
    this.drainedSeen = { step, atMs, drained };
    return drained;
  }
}
