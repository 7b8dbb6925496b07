/**
 * Cross-process staleness: how long after a change answered by API A does
 * API B (another process, same Redis) still answer from the old state?
 *  - sync: A adds a metered feature; B is asked `check` for it until it stops
 *    answering feature_not_found;
 *  - attach: A switches a customer between two plans with different limits;
 *    B is asked `check` until it answers the new limit.
 * Each round starts only when B has answered the previous change, and B is warm
 * (it has just answered for this tenant and customer, so it holds both in cache).
 * Prints the share of rounds in which B's FIRST answer after A's was already
 * fresh, and the delay until fresh (p50/p99/max) measured from A's answer.
 * Usage: npx tsx bench/staleness.ts [rounds=200]
 */
import { benchTenant, machine, post, round, startStack, summarize } from './lib.ts';
import { startApp } from '../test/support/processes.ts';

const rounds = Number(process.argv[2] ?? 200);
console.log(`# staleness bench ${new Date().toISOString()} — ${machine()}`);
const stack = await startStack(false);
const b = await startApp('api', stack.env);
try {
  const t = await benchTenant(stack.api.url, 1);
  const customer = t.customers[0]!;
  const check = async (feature: string) => JSON.parse((await post(b.url, '/v1/check', t.secret, JSON.stringify({ customer, feature, value: 0 }))).text) as { code: string; limit: number | null };

  const measure = async (name: string, change: (i: number) => Promise<unknown>, fresh: (i: number) => Promise<boolean>) => {
    const delays: number[] = [];
    let firstFresh = 0;
    for (let i = 0; i < rounds; i++) {
      await fresh(i - 1); // B warm, holding the state before this change
      await change(i);
      const answered = performance.now();
      let first = true;
      for (;;) {
        if (await fresh(i)) break;
        first = false;
        if (performance.now() - answered > 10_000) throw new Error(`${name}: B still stale after 10 s`);
      }
      if (first) firstFresh++;
      delays.push(performance.now() - answered);
    }
    console.log(name, JSON.stringify({ rounds, firstAnswerFresh: `${round((100 * firstFresh) / rounds, 1)} %`, untilFreshMs: summarize(delays) }));
  };

  const features = (n: number) => Array.from({ length: n + 1 }, (_, k) => ({ slug: `f-${k}`, type: 'metered', name: `F ${k}` }));
  const syncWith = (n: number) =>
    t.call('/v1/sync', {
      features: [{ slug: 'gpt-4', type: 'metered', name: 'GPT-4' }, ...features(n)],
      creditSystems: [{ slug: 'ai-credits', name: 'AI Credits', features: [{ feature: 'gpt-4', creditCost: 20 }, ...features(n).map((f) => ({ feature: f.slug, creditCost: 1 }))] }],
      creditPacks: [],
      plans: ['bench', 'big'].map((slug) => ({
        slug, name: slug, price: 0, currency: 'USD', interval: 'monthly',
        features: [{ slug: 'ai-credits', enabled: true, limit: slug === 'big' ? 2_000 : 1_000, reset: 'monthly', overage: 'charge' }],
      })),
    });
  await syncWith(0);
  await measure('sync on A -> check on B', (i) => syncWith(i + 1), async (i) => (await check(`f-${Math.max(i + 1, 0)}`)).code !== 'feature_not_found');
  const plan = (i: number) => (i % 2 === 0 ? 'big' : 'bench');
  await measure(
    'attach on A -> check on B',
    (i) => t.call('/v1/attach', { customer, product: plan(i) }),
    async (i) => (await check('gpt-4')).limit === (plan(i) === 'big' ? 2_000 : 1_000),
  );
} finally {
  await b.stop();
  await stack.stop();
}
process.exit(0);
