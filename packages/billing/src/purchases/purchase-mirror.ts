import type { MirroredPurchase } from '@tally/contracts';
import type { Logger } from '@tally/runtime';
import type { PurchaseMirrorStore } from './purchase-mirror-repo.ts';

/** Writes a batch to ClickHouse; throws if it did not (the batch stays pending and is tried again). */
export type MirrorSink = (rows: MirroredPurchase[]) => Promise<void>;

/**
 * Keeps ClickHouse's credit_pack_purchases_v1 equal to Postgres: every
 * purchase whose `mirror_version` (bumped by a trigger when it completes or
 * is refunded, migration 0012) is ahead of `mirrored_version` is written with
 * that version, then marked. Nothing here runs inside a purchase or refund:
 * ClickHouse down only leaves rows pending until a later sweep.
 *
 * Order: read a batch (one snapshot: status, refund and version agree) →
 * insert → mark `mirrored_version = version` only where it is still lower. A
 * purchase refunded between the read and the mark keeps its newer version
 * pending; a crash between insert and mark re-inserts the same version,
 * which ReplacingMergeTree collapses.
 */
export class PurchaseMirror {
  private running: Promise<number> | null = null;
  private again = false;

  constructor(
    private readonly store: PurchaseMirrorStore,
    private readonly sink: MirrorSink,
    private readonly logger: Logger,
    private readonly batchSize = 500,
  ) {}

  /** The purchases ClickHouse does not show in their current state yet. */
  pending(limit = this.batchSize): Promise<MirroredPurchase[]> {
    return this.store.pending(limit);
  }

  /**
   * Writes everything pending, batch after batch; answers how many rows it
   * wrote. Calls while one runs are folded into one more pass after it, so
   * a purchase committed during a sweep is not left to the next timer.
   */
  sync(): Promise<number> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      let written = 0;
      try {
        do {
          this.again = false;
          written += await this.sweepLocked();
        } while (this.again);
        return written;
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  /** Resolves once no sweep runs (shutdown waits for the current one; it starts none). */
  async settled(): Promise<void> {
    this.again = false;
    await this.running?.catch(() => 0);
  }

  private async sweepLocked(): Promise<number> {
    // Another process sweeps when the lock is taken; it is notified of the same commits, so it picks this one up too.
    return (await this.store.withSweepLock(() => this.sweep())) ?? 0;
  }

  private async sweep(): Promise<number> {
    let written = 0;
    for (;;) {
      const batch = await this.pending();
      if (batch.length === 0) return written;
      await this.sink(batch);
      await this.store.markMirrored(batch);
      written += batch.length;
      this.logger.debug({ purchases: batch.length }, 'purchases mirrored to clickhouse');
      if (batch.length < this.batchSize) return written;
    }
  }
}
