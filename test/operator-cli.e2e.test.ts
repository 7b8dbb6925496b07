/**
 * The operator CLI for customers and purchases (`tally customers …`, `tally purchases …`) against the
 * running API: every page with --all, one page and the cursor without it, a customer's balances, a
 * refund, and bad arguments refused with exit 2 before any call.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../packages/sdk/src/cli.ts';
import { apiUrl } from './support/stack.ts';
import { billingTenant, buyNow, newCustomer, saveCard, type Api } from './billing.support.ts';

let api: Api;
let env: NodeJS.ProcessEnv;
let customers: string[];
let reference: string;

async function tally(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, env, (l: string) => out.push(l), (l: string) => err.push(l));
  return { code, out: out.join('\n'), err: err.join('\n') };
}

beforeAll(async () => {
  const t = await billingTenant();
  api = t.api;
  env = { TALLY_API_URL: apiUrl(), TALLY_API_KEY: t.secret };
  customers = [];
  for (let i = 0; i < 3; i++) customers.push(await newCustomer(api, `cli-${t.tenantId.slice(0, 8)}-${i}`));
  await saveCard(api, customers[0]!);
  const buy = await buyNow(api, { customer: customers[0], pack: '500-ai-credits' });
  expect(buy.body.status).toBe('completed');
  reference = buy.body.reference;
}, 60_000);

describe('tally customers', () => {
  it('lists every page with --all, oldest first; one page and the next cursor without it', async () => {
    const all = await tally('customers', 'list', '--limit', '1', '--all');
    expect(all.code, all.err).toBe(0);
    expect(all.out.split('\n').map((l) => l.split('  ')[0])).toEqual(customers);
    const one = await tally('customers', 'list', '--limit', '2');
    expect(one.out.split('\n').slice(0, 2).map((l) => l.split('  ')[0])).toEqual(customers.slice(0, 2));
    expect(one.out).toMatch(/more: --all, or the API with cursor=\S+/);
    const search = await tally('customers', 'list', '--search', customers[2]!, '--json');
    expect(JSON.parse(search.out).data.map((c: { id: string }) => c.id)).toEqual([customers[2]]);
  });

  it('shows a customer’s balance per credit system, its grant and its purchase', async () => {
    const show = await tally('customers', 'show', customers[0]!);
    expect(show.code, show.err).toBe(0);
    // starter plan: 100 credits; the pack: 500
    expect(show.out).toContain('ai-credits: plan 100 + purchased 500 = 600');
    expect(show.out).toContain(`purchase ${reference}: completed 500-ai-credits x1 1000 USD`);
    expect((await tally('customers', 'show', 'nobody-at-all')).code).toBe(1);
  });
});

describe('tally purchases', () => {
  it('lists one customer’s purchases and refunds one', async () => {
    const list = await tally('purchases', 'list', '--customer', customers[0]!);
    expect(list.code, list.err).toBe(0);
    expect(list.out).toBe(`${reference}  completed  ${customers[0]}  500-ai-credits x1  1000 USD`);
    expect((await tally('purchases', 'list', '--customer', customers[1]!)).out).toBe('no purchases');
    const refund = await tally('purchases', 'refund', reference);
    expect(refund.code, refund.err).toBe(0);
    // nothing spent: all 500 credits taken back, the whole price back under the default 'unspent' rule
    expect(refund.out).toBe(`refunded ${reference}: 1000 USD back, 500 credits taken back, 0 spent`);
    expect((await api.get(`/v1/purchases/${reference}`)).body.status).toBe('refunded');
  });

  it('refuses bad arguments with exit 2 and changes nothing', async () => {
    for (const argv of [['purchases'], ['purchases', 'refund'], ['purchases', 'list', '--limit', '0'], ['customers', 'list', '--status', 'x'], ['customers', 'refund', 'x']]) {
      const r = await tally(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toContain('tally');
    }
  });
});
