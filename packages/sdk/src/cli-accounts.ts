/**
 * tally customers list [--search S] [--limit N] [--all] [--json]
 * tally customers show <id> [--json]
 * tally purchases list [--customer C] [--status S] [--limit N] [--all] [--json]
 * tally purchases refund <reference> [--json]
 *
 * What an operator looks up about customers and their purchases. `--all`
 * follows nextCursor to the last page; without it one page is printed and the
 * cursor of the next one is named.
 */
import { runCliCommand, type CliIo } from './cli-command.ts';
import type { Tally } from './client.ts';

const USAGE = `usage: tally customers list [--search S] [--limit N] [--all] [--json]
       tally customers show <id> [--json]
       tally purchases list [--customer C] [--status S] [--limit N] [--all] [--json]
       tally purchases refund <reference> [--json]

  customers list    customers, oldest first; --search matches id, email or name
  customers show    plan, balance per credit system (plan / purchased / total), grants, purchases, recent events
  purchases list    purchases, newest first; --status pending|awaiting_payment|completed|failed|refunded|…
  purchases refund  take back the unspent credits, money back by the pack's refundPolicy`;

interface Options {
  area: 'customers' | 'purchases';
  command: 'list' | 'show' | 'refund';
  id: string | undefined;
  search: string | undefined;
  customer: string | undefined;
  status: string | undefined;
  limit: number | undefined;
  all: boolean;
  json: boolean;
  apiKey: string;
  apiUrl: string;
}

const COMMANDS = { customers: ['list', 'show'], purchases: ['list', 'refund'] } as const;

function parse(area: Options['area'], argv: string[], env: NodeJS.ProcessEnv): Options | string {
  const [command, ...rest] = argv;
  if (!(COMMANDS[area] as readonly string[]).includes(command ?? '')) return USAGE;
  const o: Partial<Options> = { area, command: command as Options['command'], all: false, json: false, apiKey: env.TALLY_API_KEY, apiUrl: env.TALLY_API_URL };
  const list = command === 'list';
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    const value = () => rest[++i];
    if (list && a === '--limit') o.limit = Number(value());
    else if (list && a === '--all') o.all = true;
    else if (list && area === 'customers' && a === '--search') o.search = value();
    else if (list && area === 'purchases' && a === '--customer') o.customer = value();
    else if (list && area === 'purchases' && a === '--status') o.status = value();
    else if (a === '--json') o.json = true;
    else if (a === '--api-key') o.apiKey = value();
    else if (a === '--api-url') o.apiUrl = value();
    else if (!list && !o.id && !a.startsWith('--')) o.id = a;
    else return `tally ${area}: unexpected argument ${a}\n${USAGE}`;
  }
  if (!list && !o.id) return USAGE;
  if (o.limit !== undefined && !(Number.isInteger(o.limit) && o.limit >= 1 && o.limit <= 100)) return `tally ${area}: --limit is a whole number from 1 to 100`;
  if (!o.apiKey) return 'tally: set TALLY_API_KEY (or pass --api-key)';
  return { ...o, apiKey: o.apiKey, apiUrl: o.apiUrl ?? 'http://127.0.0.1:3000' } as Options;
}

/** Every page (with --all) or the first, in order; the cursor of the page after the last printed. */
async function pages<T>(all: boolean, fetch: (cursor?: string) => Promise<{ data: T[]; hasMore: boolean; nextCursor: string | null }>) {
  const rows: T[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await fetch(cursor);
    rows.push(...page.data);
    if (!page.hasMore || !page.nextCursor) return { rows, next: null };
    if (!all) return { rows, next: page.nextCursor };
    cursor = page.nextCursor;
  }
}

async function customers(tally: Tally, o: Options, io: CliIo): Promise<void> {
  if (o.command === 'show') {
    const b = await tally.customerBalances(o.id!);
    if (o.json) return io.out(JSON.stringify(b, null, 2));
    io.out(`${b.customer.id}  ${b.customer.email ?? '-'}  ${b.customer.name ?? ''}`);
    for (const s of b.balances) io.out(`  ${s.creditSystem}: plan ${s.unlimited ? 'unlimited' : s.plan} + purchased ${s.purchased} = ${s.total}`);
    for (const g of b.grants) io.out(`  grant ${g.id} (${g.source}): ${g.credits} credits, ${g.revoked} revoked, granted ${g.grantedAt}`);
    for (const p of b.purchases) io.out(`  purchase ${p.id}: ${p.status} ${p.pack} x${p.quantity} ${p.amount} ${p.currency}`);
    for (const s of b.subscriptions) io.out(`  subscription ${s.plan}: ${s.status} since ${s.createdAt}${s.canceledAt ? `, canceled ${s.canceledAt}` : ''}`);
    return;
  }
  const { rows, next } = await pages(o.all, (cursor) => tally.listCustomers({ limit: o.limit, search: o.search, cursor }));
  if (o.json) return io.out(JSON.stringify({ data: rows, nextCursor: next }, null, 2));
  io.out(rows.map((c) => `${c.id}  ${c.email ?? '-'}  ${c.name ?? ''}  created ${c.createdAt}`).join('\n') || 'no customers');
  if (next) io.out(`more: --all, or the API with cursor=${next}`);
}

async function purchases(tally: Tally, o: Options, io: CliIo): Promise<void> {
  if (o.command === 'refund') {
    const r = await tally.refund(o.id!);
    return io.out(o.json ? JSON.stringify(r, null, 2) : `refunded ${r.reference}: ${r.amount} ${r.currency} back, ${r.revokedCredits} credits taken back, ${r.spentCredits} spent`);
  }
  const { rows, next } = await pages(o.all, (cursor) => tally.listPurchases({ limit: o.limit, customer: o.customer, status: o.status, cursor }));
  if (o.json) return io.out(JSON.stringify({ data: rows, nextCursor: next }, null, 2));
  io.out(rows.map((p) => `${p.reference}  ${p.status}  ${p.customer}  ${p.pack} x${p.quantity}  ${p.amount} ${p.currency}`).join('\n') || 'no purchases');
  if (next) io.out(`more: --all, or the API with cursor=${next}`);
}

export function accountsMain(area: Options['area'], argv: string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  return runCliCommand(parse(area, argv, env), io, (tally, o) => (o.area === 'customers' ? customers(tally, o, io) : purchases(tally, o, io)));
}
