import type { Redis } from 'ioredis';
import { AppError } from '@tally/runtime';
import { keys, scripts } from '@tally/redis';
import type { MeteringDirectory } from './directory.ts';
import type { Rebuilder } from './rebuild.ts';
import { customerPlan, meterArgs, meterBySlug } from './meter-context.ts';
import { meterKeys, rolloverArgv, seenKeys } from './ledger-keys.ts';
import { dedupGenerations } from './dedup.ts';
import { withRedis } from './redis-errors.ts';
import { emitBalanceAdjusted, onBalanceChanged, type BalanceListener } from './balance-events.ts';

export interface GrantInput {
  tenantId: string;
  customerId: string;
  creditSystem: string;
  grantId: string;
  creditsMicro: bigint;
  grantedAt: Date;
  expiresAt?: Date | null;
}

export interface MeterRef {
  tenantId: string;
  customerId: string;
  creditSystem: string;
}

export interface Balance {
  /** Plan allowance left this period (0 when the plan gives none; see `unlimited`). */
  planMicro: bigint;
  purchasedMicro: bigint;
  totalMicro: bigint;
  unlimited: boolean;
  /** Plan allowance used, and usage beyond balance (overage), in the current period. */
  usedMicro: bigint;
  overageMicro: bigint;
}

const MAX_REBUILD_TRIES = 3;

/**
 * Purchased credits and balances in Redis, for billing (grants, refunds,
 * balance.low) and for answers. Every operation first makes sure the
 * customer's state exists (rebuilt from Postgres + ClickHouse otherwise).
 */
export class BalanceService {
  constructor(
    private readonly redis: Redis,
    private readonly directory: MeteringDirectory,
    private readonly rebuilder: Rebuilder,
  ) {}

  /** Adds a grant's credits once (idempotent by grantId); returns the new total balance. */
  async applyGrant(input: GrantInput): Promise<{ balanceMicro: bigint }> {
    const { tenantId: t, customerId: c, creditSystem } = input;
    const [, grantsKey, orderKey, expiryKey] = meterKeys(t, c, creditSystem) as [string, string, string, string];
    await this.withState(t, c, () =>
      scripts.applyGrant.run<number>(this.redis, [keys.hydrated(t, c), grantsKey, orderKey, expiryKey], [
        input.grantId,
        input.creditsMicro.toString(),
        String(input.grantedAt.getTime()),
        input.expiresAt ? String(input.expiresAt.getTime()) : '',
      ]),
    );
    const balanceMicro = (await this.balance({ tenantId: t, customerId: c, creditSystem })).totalMicro;
    emitBalanceAdjusted({ tenantId: t, customerId: c, creditSystem, balanceMicro });
    return { balanceMicro };
  }

  /** Removes what is unspent of a grant and returns that amount; asked again, answers the same amount (idempotent). */
  async revokeGrant(input: Omit<GrantInput, 'creditsMicro' | 'grantedAt' | 'expiresAt'>): Promise<{ revokedMicro: bigint }> {
    const { tenantId: t, customerId: c, creditSystem } = input;
    const [, grantsKey, orderKey, expiryKey] = meterKeys(t, c, creditSystem) as [string, string, string, string];
    const revoked = await this.withState(t, c, () =>
      scripts.revokeGrant.run<number>(this.redis, [keys.hydrated(t, c), grantsKey, orderKey, expiryKey], [input.grantId, Date.now()]),
    );
    // observers hear the new balance; reading it must not fail the revocation that already happened
    void this.balance({ tenantId: t, customerId: c, creditSystem }).then(
      (b) => emitBalanceAdjusted({ tenantId: t, customerId: c, creditSystem, balanceMicro: b.totalMicro }),
      () => {},
    );
    return { revokedMicro: BigInt(revoked) };
  }

  async balance(ref: MeterRef): Promise<Balance> {
    const { tenantId: t, customerId: c } = ref;
    const cp = await customerPlan(this.directory, t, c);
    const now = Date.now();
    const args = meterArgs(cp, meterBySlug(cp, ref.creditSystem), new Date(now));
    const gen = dedupGenerations(now);
    let r: number[];
    for (;;) {
      r = await this.withState(t, c, async () => {
        const out = await scripts.check.run<number[]>(
          this.redis,
          [keys.hydrated(t, c), ...meterKeys(t, c, ref.creditSystem), ...seenKeys(t, c, gen), keys.appliedLog(t, c)],
          [now, gen.expireAtMs, args.startMs, args.endMs, args.limit, 0, 0, 0, '', '', ...rolloverArgv(ref.creditSystem, args.rollover)],
        );
        return out[0] === -1 ? -1 : out;
      });
      if (r[0] !== -2) break;
      await this.rebuilder.settlePeriod(t, c, ref.creditSystem, args.startMs, args.endMs); // rebuilt without a period
    }
    const [, , , , , used, limit, purchased, overage] = r;
    const unlimited = limit! < 0;
    const plan = unlimited ? 0n : BigInt(Math.max(0, limit! - used!));
    return {
      planMicro: plan,
      purchasedMicro: BigInt(purchased!),
      totalMicro: plan + BigInt(purchased!),
      unlimited,
      usedMicro: BigInt(used ?? 0),
      overageMicro: BigInt(overage ?? 0),
    };
  }

  /**
   * What is left of each of these grants now, as the ledger holds it (0 for an
   * expired one: its remainder was forfeited). The state is built first if missing.
   */
  async grantsLeft(t: string, c: string, grants: { id: string; creditSystem: string }[]): Promise<Map<string, bigint>> {
    const left = new Map<string, bigint>();
    if (grants.length === 0) return left;
    const now = Date.now();
    await this.rebuilder.ensure(t, c);
    const bySystem = new Map<string, string[]>();
    for (const g of grants) bySystem.set(g.creditSystem, [...(bySystem.get(g.creditSystem) ?? []), g.id]);
    for (const [system, ids] of bySystem) {
      const [, grantsKey, , expiryKey] = meterKeys(t, c, system) as [string, string, string, string];
      const [rem, exp] = await withRedis(() => Promise.all([this.redis.hmget(grantsKey, ...ids), this.redis.hmget(expiryKey, ...ids)]));
      ids.forEach((id, i) => {
        const expired = exp[i] != null && Number(exp[i]) <= now;
        left.set(id, expired ? 0n : BigInt(rem[i] ?? '0'));
      });
    }
    return left;
  }

  /** Called after deductions are applied (in this process), for balance.low webhooks and auto top-up. */
  onBalanceChanged(listener: BalanceListener): () => void {
    return onBalanceChanged(listener);
  }

  private withState<T>(t: string, c: string, op: () => Promise<T>): Promise<Exclude<T, -1>> {
    return withCustomerState(this.rebuilder, t, c, op);
  }
}

/**
 * Runs a script that answers -1 when the customer has no state: rebuilds and
 * retries. The warm path is the script alone (one round trip).
 */
export async function withCustomerState<T>(rebuilder: Rebuilder, t: string, c: string, op: () => Promise<T>): Promise<Exclude<T, -1>> {
  for (let i = 0; i < MAX_REBUILD_TRIES; i++) {
    const result = await withRedis(op);
    if (result !== -1) return result as Exclude<T, -1>;
    await rebuilder.ensure(t, c);
  }
  throw new AppError('state_unavailable', 'customer state could not be rebuilt', { status: 503, retryable: true });
}
