import { keys } from '@tally/redis';
import type { MeteringDirectory } from './directory.ts';
import type { Rebuilder } from './rebuild.ts';
import { customerPlan, meterArgs, meterBySlug } from './meter-context.ts';
import { ledgerScripts, meterKeys, runCheckScript, withCustomerState, type LedgerStore } from './ledger/index.ts';
import { withRedis } from './redis-errors.ts';
import type { BalanceEvents } from './balance-events.ts';

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


/**
 * Purchased credits and balances in Redis, for billing (grants, refunds,
 * balance.low) and for answers. Every operation first makes sure the
 * customer's state exists (rebuilt from Postgres + ClickHouse otherwise).
 */
export class BalanceService {
  constructor(
    private readonly ledger: LedgerStore,
    private readonly directory: MeteringDirectory,
    private readonly rebuilder: Rebuilder,
    /** The process's balance-changed signal: grants and revocations are reported as adjustments. */
    private readonly events: BalanceEvents,
  ) {}

  /** Adds a grant's credits once (idempotent by grantId); returns the new total balance. */
  async applyGrant(input: GrantInput): Promise<{ balanceMicro: bigint }> {
    const { tenantId: t, customerId: c, creditSystem } = input;
    const [, grantsKey, orderKey, expiryKey] = meterKeys(t, c, creditSystem) as [string, string, string, string];
    await this.withState(t, c, () =>
      this.ledger.run<number>(ledgerScripts.applyGrant, [keys.hydrated(t, c), grantsKey, orderKey, expiryKey], [
        input.grantId,
        input.creditsMicro.toString(),
        String(input.grantedAt.getTime()),
        input.expiresAt ? String(input.expiresAt.getTime()) : '',
      ]),
    );
    const balanceMicro = (await this.balance({ tenantId: t, customerId: c, creditSystem })).totalMicro;
    this.events.adjusted({ tenantId: t, customerId: c, creditSystem, balanceMicro });
    return { balanceMicro };
  }

  /** Removes what is unspent of a grant and returns that amount; asked again, answers the same amount (idempotent). */
  async revokeGrant(input: Omit<GrantInput, 'creditsMicro' | 'grantedAt' | 'expiresAt'>): Promise<{ revokedMicro: bigint }> {
    const { tenantId: t, customerId: c, creditSystem } = input;
    const [, grantsKey, orderKey, expiryKey] = meterKeys(t, c, creditSystem) as [string, string, string, string];
    const revoked = await this.withState(t, c, () =>
      this.ledger.run<number>(ledgerScripts.revokeGrant, [keys.hydrated(t, c), grantsKey, orderKey, expiryKey], [input.grantId, Date.now()]),
    );
    // observers hear the new balance; reading it must not fail the revocation that already happened
    void this.balance({ tenantId: t, customerId: c, creditSystem }).then(
      (b) => this.events.adjusted({ tenantId: t, customerId: c, creditSystem, balanceMicro: b.totalMicro }),
      () => {},
    );
    return { revokedMicro: BigInt(revoked) };
  }

  async balance(ref: MeterRef): Promise<Balance> {
    const { tenantId: t, customerId: c } = ref;
    const cp = await customerPlan(this.directory, t, c);
    // the same read as a check of 0 credits (the period settled first when a rebuild left it unknown)
    const m = await runCheckScript(this.ledger, this.rebuilder, t, c, meterArgs(cp, meterBySlug(cp, ref.creditSystem), new Date()), { neededMicro: 0n, send: null });
    const unlimited = m.limitMicro === null;
    const plan = unlimited || m.limitMicro! < m.usedMicro ? 0n : m.limitMicro! - m.usedMicro;
    return { planMicro: plan, purchasedMicro: m.purchasedMicro, totalMicro: plan + m.purchasedMicro, unlimited, usedMicro: m.usedMicro, overageMicro: m.overageMicro };
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
      const [rem, exp] = await withRedis(() => Promise.all([this.ledger.hmget(grantsKey, ids), this.ledger.hmget(expiryKey, ids)]));
      ids.forEach((id, i) => {
        const expired = exp[i] != null && Number(exp[i]) <= now;
        left.set(id, expired ? 0n : BigInt(rem[i] ?? '0'));
      });
    }
    return left;
  }

  private withState<T>(t: string, c: string, op: () => Promise<T>): Promise<Exclude<T, -1>> {
    return withCustomerState(this.rebuilder, t, c, op);
  }
}
