import type { TenantHandle } from './compare.ts';
import type { ImportCounts, ImportLine, ImportModel } from './model.ts';
import { unexpected, valueFor, type OpContext } from './ops.ts';
import { periodAt } from './periods.ts';
import type { Rng } from './rng.ts';

/**
 * Imports (docs/analytics/README.md): an NDJSON file of fresh lines, lines
 * reusing ids live traffic already applied (duplicates), a line repeated in
 * the file (dropped) and sometimes an unknown feature (flagged in report
 * mode, rejected in apply mode); then the import is polled until it
 * completes. Reverts take an import out again. The caller holds a barrier:
 * nothing is in flight, so the model knows the import comes after every
 * event it has applied and before every later one.
 */
const IMPORT_WAIT_MS = 60_000;
const UNKNOWN_FEATURE = 'zz-not-in-catalog';

interface ImportAnswer extends Partial<ImportCounts> {
  id?: string;
  state?: string;
  error?: string | null;
}

/** Lines over `customers` (the ones the caller holds: every event sent to them before is answered and stored). */
export function importLines(rng: Rng, ctx: OpContext, t: TenantHandle, mode: 'report' | 'apply', seq: number, customers: string[]): ImportLine[] {
  const now = Date.now();
  const features = t.model.catalog.features.map((f) => f.slug);
  // ids applied to those customers among the tenant's last 5,000 events sent
  const applied = (ctx.sentBy.get(t.label) ?? []).slice(-5000).filter((s) => customers.includes(s.event.customer) && t.model.seen(s.event.id, s.event.fingerprint) !== 'fresh');
  const lines: ImportLine[] = [];
  const n = rng.int(3, 30);
  for (let k = 0; k < n; k++) {
    const roll = rng.float();
    if (roll < 0.15 && applied.length > 0) {
      const e = rng.pick(applied).event; // an id live traffic already applied: a duplicate
      lines.push({ id: e.id, customer: e.customer, feature: e.feature, value: e.value, timestampMs: e.timestampMs });
    } else if (roll < 0.25 && lines.length > 0) {
      lines.push({ ...rng.pick(lines) }); // repeated in the file: dropped
    } else {
      const customer = rng.pick(customers);
      const feature = rng.chance(0.05) ? UNKNOWN_FEATURE : rng.pick(features);
      lines.push({ id: `i${seq}-${k}-${rng.id('')}`, customer, feature, value: valueFor(rng, feature), timestampMs: timestampFor(rng, t, mode, customer, now) });
    }
  }
  return lines;
}

/**
 * Report lines are history: up to 2 days back (all inside the compared /v1/usage range).
 * Apply lines are debited now: a few seconds back, never before the customer's current
 * period started (a period boundary fault may have just moved it).
 */
function timestampFor(rng: Rng, t: TenantHandle, mode: 'report' | 'apply', customer: string, now: number): number {
  if (mode === 'report') return now - rng.int(0, 2 * 86_400) * 1000;
  const start = periodAt(t.model.customer(customer).anchorMs, 'monthly', now).start;
  return Math.max(start + 1000, now - rng.int(1, 5) * 1000);
}

/** The import as the model took it once Tally completed it (null when Tally did not: a divergence). */
export async function runImport(ctx: OpContext, t: TenantHandle, mode: 'report' | 'apply', lines: ImportLine[]): Promise<ImportModel | null> {
  const body = lines.map((l) => JSON.stringify({ id: l.id, customer: l.customer, feature: l.feature, value: l.value, timestamp: l.timestampMs })).join('\n') + '\n';
  const what = `import ${mode} of ${lines.length} lines`;
  const res = await ctx.apis.call(t.secret, 'POST', `/v1/imports?mode=${mode}`, body, undefined, { 'Content-Type': 'application/x-ndjson' });
  const a = res.body as ImportAnswer;
  if (res.status !== 202 || !a.id) {
    unexpected(ctx, t, null, what, res.status, a);
    return null;
  }
  const done = await pollImport(ctx, t, a.id, ['completed', 'failed']);
  if (done?.state !== 'completed') {
    unexpected(ctx, t, null, `${what} ${a.id}: did not complete`, 200, done);
    return null;
  }
  const imp = t.model.importFile(a.id, mode, lines, Date.now());
  const want = countsText(imp.counts);
  const got = countsText(done as ImportCounts);
  if (got !== want) ctx.divergences.push({ tenant: t.label, customer: null, what: `${what} ${a.id}: counts`, expected: want, actual: got });
  const customers = [...new Set(lines.map((l) => l.customer))];
  ctx.history.add(t.label, customers, `${what} ${a.id} -> ${got} (model ${want})`);
  return imp;
}

export async function revertImport(ctx: OpContext, t: TenantHandle, imp: ImportModel): Promise<void> {
  const what = `revert ${imp.mode} import ${imp.id}`;
  const res = await ctx.apis.call(t.secret, 'POST', `/v1/imports/${imp.id}/revert`);
  if (res.status !== 202) return unexpected(ctx, t, null, what, res.status, res.body);
  const done = await pollImport(ctx, t, imp.id, ['reverted']);
  if (done?.state !== 'reverted') return unexpected(ctx, t, null, `${what}: not reverted within ${IMPORT_WAIT_MS} ms`, 200, done);
  t.model.revertImport(imp);
  ctx.history.add(t.label, [...new Set(imp.events.map((e) => e.customer))], `${what} -> reverted (${imp.events.length} events out)`);
}

const countsText = (c: ImportCounts) => `read ${c.rowsRead}, accepted ${c.accepted}, duplicates ${c.duplicates}, rejected ${c.rejected}, flagged ${c.flagged}`;

async function pollImport(ctx: OpContext, t: TenantHandle, id: string, until: string[]): Promise<ImportAnswer | null> {
  const deadline = Date.now() + IMPORT_WAIT_MS;
  let last: ImportAnswer | null = null;
  while (Date.now() < deadline) {
    const r = await ctx.apis.call(t.secret, 'GET', `/v1/imports/${id}`);
    last = r.body as ImportAnswer;
    if (last.state && until.includes(last.state)) return last;
    await new Promise((res) => setTimeout(res, 50));
  }
  return last;
}
