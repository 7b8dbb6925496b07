import type { SyncBodyParsed } from '@tally/contracts';
import { SANDBOX_PROVIDER_NAME, sandboxNotForLive } from '@tally/billing';
import type { ApiContext } from '../context.ts';

/**
 * A live tenant's sync may not put anything for sale on the sandbox, which
 * takes no real money: every credit pack and every paid plan whose provider,
 * once defaults apply (the pack's own, else the sync's defaultProvider, else
 * the tenant's stored default, "sandbox" unless changed), is the sandbox is
 * named in one 400, and nothing is written (dry runs too). Free plans never
 * reach a provider and are left alone. Checked before the sync transaction.
 */
export async function refuseLiveSandbox(ctx: ApiContext, tenantId: string, input: Pick<SyncBodyParsed, 'creditPacks' | 'plans' | 'defaultProvider'>): Promise<void> {
  if ((await ctx.billing.providers.environmentOf(tenantId)) !== 'live') return;
  const fallback = input.defaultProvider ?? (await ctx.catalog.snapshot(tenantId)).defaultProvider ?? SANDBOX_PROVIDER_NAME;
  const onSandbox = (provider: string | null | undefined) => (provider ?? fallback) === SANDBOX_PROVIDER_NAME;
  const creditPacks = (input.creditPacks ?? []).filter((p) => onSandbox(p.provider)).map((p) => p.slug);
  const plans = (input.plans ?? []).filter((p) => p.price > 0 && onSandbox(p.provider)).map((p) => p.slug);
  if (creditPacks.length + plans.length === 0) return;
  const named = [...creditPacks.map((s) => `credit pack "${s}"`), ...plans.map((s) => `plan "${s}"`)];
  const shown = named.length > 10 ? `${named.slice(0, 10).join(', ')} and ${named.length - 10} more` : named.join(', ');
  throw sandboxNotForLive({ creditPacks, plans }, shown);
}
