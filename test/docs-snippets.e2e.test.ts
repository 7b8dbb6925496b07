import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inject, describe, expect, it } from 'vitest';
import { buildSyncBody } from '@tally/sdk';
import { apiUrl, client, eventually, newTenant } from './support/stack.ts';
import { db, payOnPage } from './billing.support.ts';
import { extractAll, extractSteps, parseShown, shapeMismatches, type Step } from './support/snippets.ts';

/**
 * Issue 15: every curl command and SDK block of README.md and docs/**\/*.md is run, in
 * document order, against the e2e stack, and each answer is checked: JSON, 2xx, and
 * every key the docs show after it (`# -> {…}`) present with the same type. A block
 * this test does not know how to run fails it, so new docs are covered automatically.
 *
 * Each document gets a fresh tenant seeded as `npm start` seeds its demo tenant
 * (apps/api/src/cli/seed-demo.ts): the catalog of examples/billing.config.ts and
 * `demo-user` on Pro. Shell text is run verbatim by bash, after the substitutions
 * of SUBSTITUTE only.
 */
const ROOT = resolve(import.meta.dirname, '..');

/** Commands the docs show that this test does not run, and why. */
const NOT_RUN: Array<[RegExp, string]> = [
  [/^npm (start|test|run stop)\b/, 'starts/stops the whole stack or runs every suite (minutes)'],
];

/**
 * Answers that are not 2xx on the test stack, for a reason outside the docs:
 * [a substring of the curl command, the status it answers, why].
 */
const NOT_2XX: Array<[string, number, string]> = [
  ['/admin/tenants', 404, 'the test stack runs without ADMIN_TOKEN, so the route does not exist (as the docs say)'],
  ['/v1/dead-letters/<id>/replay', 404, 'a fresh tenant has no dead letters (test/dead-letters.e2e.test.ts replays real ones)'],
];

const STATUS = '@@status';

interface Doc {
  tenantId: string;
  secret: string;
  keyId: string;
  /** <id> and <reference>: from the latest answer that had one (a list with no rows: an id of nothing) */
  lastId?: string;
  lastReference?: string;
  /** shell assignments seen so far in this document (K=…, API=…, export TALLY_API_KEY=…) */
  prelude: string[];
  /** the client block saved where the docs say, waiting for the command that runs it */
  pendingClient?: string;
  /** files this document's run wrote into the repo, removed at the end */
  written: string[];
  env: Record<string, string>;
}

/** The explicit placeholder table: what the docs leave for the reader to fill in. */
function substitute(text: string, doc: Doc): string {
  return text
    .replaceAll('sk_test_…', doc.secret)
    .replaceAll('sk_test_...', doc.secret)
    // the API the docs call (npm start's port) is the e2e stack's API
    .replace(/(?:https?:\/\/)?(?:127\.0\.0\.1|localhost):3000/g, apiUrl())
    .replaceAll('<id>', doc.lastId ?? randomUUID())
    .replaceAll('<reference>', doc.lastReference ?? randomUUID())
    .replaceAll('<tenant id>', doc.tenantId);
}

function run(cmd: string, args: string[], env: Record<string, string>, timeout = 30_000) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
    execFile(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, timeout, maxBuffer: 20 << 20 }, (err, stdout, stderr) =>
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const bash = (doc: Doc, text: string) => run('bash', ['-c', ['set -o pipefail', ...doc.prelude, text].join('\n')], doc.env);

const isAssignment = (line: string) =>
  /^(export\s+)?([A-Za-z_][A-Za-z0-9_]*=("[^"]*"|'[^']*'|\S+)(\s*;\s*|\s+)?)+(#.*)?$/.test(line.trim());
const isApi = (curl: string) => /\$API\b|\$TALLY_URL\b|(127\.0\.0\.1|localhost):3000/.test(curl);

async function seed(): Promise<Doc> {
  const tenant = await newTenant('docs');
  const api = client(tenant.apiKey.secret);
  const config = await import(pathToFileURL(join(ROOT, 'examples/billing.config.ts')).href);
  const sync = await api.post('/v1/sync', buildSyncBody(config));
  if (sync.status !== 200) throw new Error(`seed sync: ${sync.status} ${JSON.stringify(sync.body)}`);
  const customer = await api.post('/v1/customers', { id: 'demo-user', email: 'demo@example.com', name: 'Demo User' });
  if (customer.status !== 200) throw new Error(`seed customer: ${customer.status} ${JSON.stringify(customer.body)}`);
  // as seed-demo.ts does: Pro is paid, so the demo customer is put on it directly instead of through checkout
  await db.query(
    `UPDATE subscriptions SET status = 'canceled', canceled_at = now() WHERE tenant_id = $1 AND customer_id = 'demo-user' AND status IN ('active', 'trialing', 'pending')`,
    [tenant.tenantId],
  );
  await db.query(
    `INSERT INTO subscriptions (id, tenant_id, customer_id, plan_id, status, anchor_at)
     SELECT $1, $2, 'demo-user', id, 'active', now() FROM plans WHERE tenant_id = $2 AND slug = 'pro'`,
    [randomUUID(), tenant.tenantId],
  );
  const secret = tenant.apiKey.secret;
  const env = {
    ...inject('stackEnv'),
    API: apiUrl(),
    K: `Authorization: Bearer ${secret}`,
    J: 'Content-Type: application/json',
    KEY: secret,
    TALLY_URL: apiUrl(),
    TALLY_KEY: secret,
    TALLY_API_KEY: secret,
    TALLY_API_URL: apiUrl(),
    KEY_ID: tenant.apiKey.id,
  };
  return { tenantId: tenant.tenantId, secret, keyId: tenant.apiKey.id, prelude: [], written: [], env };
}

/**
 * The sandbox checkout needs a browser: between snippets the test pays it the way
 * test/billing.support.ts does (4242…, "Save this card" ticked, as the docs say).
 */
async function payCheckout(doc: Doc, command: string, checkoutUrl: string) {
  const customer = /"customer"\s*:\s*"([^"]+)"/.exec(command)?.[1];
  if (!customer) throw new Error(`a checkout for no customer: ${command}`);
  const paid = await payOnPage(checkoutUrl, '4242424242424242', true);
  if (paid.status !== 200 && paid.status !== 303) throw new Error(`checkout page: ${paid.status} ${paid.html}`);
  const api = client(doc.secret);
  await eventually(async () => (await api.get(`/v1/wallet?customer=${customer}`)).body.methods?.length > 0);
}

function remember(doc: Doc, body: unknown) {
  if (!body || typeof body !== 'object') return;
  const answer = body as Record<string, unknown>;
  const list = Object.values(answer).find(Array.isArray) as Array<{ id?: string }> | undefined;
  if (typeof answer.id === 'string') doc.lastId = answer.id;
  else if (list) doc.lastId = list[0]?.id; // a page: its first row (none: an id of nothing)
  if (typeof answer.reference === 'string') doc.lastReference = answer.reference;
}

/**
 * What a reader waits for between two snippets (the docs say to poll): before a command
 * containing the key, the test polls until the condition holds.
 */
const WAIT_BEFORE: Array<[string, (doc: Doc) => Promise<unknown>]> = [
  // README "Import history": an import is reverted once it has finished (a running one answers 409)
  ['/v1/imports/<id>/revert', (doc) =>
    eventually(async () => {
      const seen = (await client(doc.secret).get(`/v1/imports/${doc.lastId}`)).body;
      if (!['completed', 'failed'].includes(seen.state)) throw new Error(`import ${doc.lastId}: ${JSON.stringify(seen)}`);
      return true;
    }, 30_000)],
];

async function runCurl(doc: Doc, step: Extract<Step, { kind: 'sh' }>, where: string) {
  for (const [key, wait] of WAIT_BEFORE) if (step.text.includes(key)) await wait(doc);
  const segments = step.text.split(/(?=\bcurl )/).filter((s) => s.startsWith('curl '));
  for (const s of segments) if (!s.startsWith('curl -s ')) throw new Error(`${where}: a curl without -s this test cannot read: ${s}`);
  const text = substitute(step.text, doc).replace(/\bcurl -s /g, `curl -s -w '\\n${STATUS} %{http_code}\\n' `);
  const out = await bash(doc, text);
  expect(out.code, `${where}: exit ${out.code}\n${out.stderr}`).toBe(0);
  const parts = out.stdout.split(new RegExp(`\\n?${STATUS} (\\d{3})\\n`));
  expect(parts.length, `${where}: one status per curl\n${out.stdout}`).toBe(segments.length * 2 + 1);
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const [raw, status] = [parts[i * 2]!, Number(parts[i * 2 + 1])];
    const known = NOT_2XX.find(([match]) => segment.includes(match));
    if (known) expect(status, `${where}: ${known[2]}\n${raw}`).toBe(known[1]);
    else expect(status >= 200 && status < 300, `${where}: HTTP ${status}\n${raw}`).toBe(true);
    if (!isApi(segment)) continue;
    let body: { checkoutUrl?: unknown } | null = null;
    expect(() => (body = JSON.parse(raw)), `${where}: not JSON\n${raw}`).not.toThrow();
    if (!known) remember(doc, body);
    if (step.expect && i === segments.length - 1) expect(shapeMismatches(parseShown(step.expect), body), `${where}: answer ${raw}`).toEqual([]);
    // paid only where the docs show the checkoutUrl and go on to "open checkoutUrl" and pay
    const checkoutUrl = (body as { checkoutUrl?: unknown } | null)?.checkoutUrl;
    if (step.expect?.includes('"checkoutUrl"') && typeof checkoutUrl === 'string') await payCheckout(doc, segment, checkoutUrl);
  }
}

async function runStep(doc: Doc, step: Step) {
  const where = `${step.file}:${step.line}`;
  if (step.kind === 'unknown') throw new Error(`${where}: a curl/SDK snippet in a block that is not \`\`\`sh/bash/ts, this test cannot run it`);
  if (step.kind === 'ts') {
    const first = step.text.trimStart().split('\n')[0]!;
    if (first.startsWith('// billing.config.ts')) {
      // a catalog file: saved inside the repo (so @tally/sdk resolves) and dry-run through the CLI
      const file = `examples/.docs-snippet-${randomUUID().slice(0, 8)}.config.ts`;
      writeFileSync(join(ROOT, file), substitute(step.text, doc));
      try {
        const out = await run('npx', ['tally', 'diff', `./${file}`], doc.env);
        expect(out.code, `${where}: npx tally diff\n${out.stdout}\n${out.stderr}`).toBe(0);
      } finally {
        rmSync(join(ROOT, file), { force: true });
      }
      return;
    }
    if (step.text.includes('new Tally(')) {
      // docs/catalog.md: "Save it as … examples/try-client.mts"; the shell command after it runs it
      const saved = /Save it as[^`]*`([^`]+\.mts)`/.exec(readFileSync(join(ROOT, step.file), 'utf8'))?.[1];
      expect(saved, `${where}: the docs say where to save the client snippet`).toBeTruthy();
      writeFileSync(join(ROOT, saved!), substitute(step.text, doc));
      doc.pendingClient = saved;
      doc.written.push(saved!);
      return;
    }
    throw new Error(`${where}: a ts block this test does not know how to run`);
  }
  const line = step.text.trim();
  const skipped = NOT_RUN.find(([re]) => re.test(line));
  if (skipped) return;
  if (isAssignment(line)) {
    doc.prelude.push(substitute(line, doc));
    return;
  }
  if (/\bcurl\b/.test(line)) return runCurl(doc, step, where);
  if (/^([A-Z_]+=\S+\s+)*npx (tally|tsx) /.test(line)) {
    const out = await bash(doc, substitute(line, doc));
    expect(out.code, `${where}: exit ${out.code}\n${out.stdout}\n${out.stderr}`).toBe(0);
    if (/\s--json\b/.test(line)) expect(() => JSON.parse(out.stdout), `${where}: --json prints JSON\n${out.stdout}`).not.toThrow();
    if (doc.pendingClient && line.includes(doc.pendingClient)) doc.pendingClient = undefined;
    return;
  }
  throw new Error(`${where}: a shell command this test does not know how to run: ${line}`);
}

// the file `npx tally import ./usage.ndjson` and `--data-binary @usage.ndjson` read (README "Import history")
const USAGE_FILE = 'usage.ndjson';
const usageRows = () =>
  [1, 2, 3]
    .map((n) => JSON.stringify({ id: `imp_${randomUUID()}`, customer: 'demo-user', feature: 'gpt-4', value: n, timestamp: new Date(Date.now() - n * 3_600_000).toISOString() }))
    .join('\n') + '\n';

describe('docs snippets', () => {
  it('the extractor keeps document order, joins continued commands and attaches the answer shown', () => {
    const md = ['```sh', 'A=1; B=2', "curl -s x -d '{", '  \"a\": 1 }\'', '# -> {"ok":true,"n":…}', 'curl -s y \\', '  -H z', '```', '```ts', 'x', '```'].join('\n');
    const steps = extractSteps('t.md', md);
    expect(steps.map((s) => [s.kind, s.line])).toEqual([['sh', 2], ['sh', 3], ['sh', 6], ['ts', 9]]);
    expect(extractSteps('t.md', '```\n a -> b\n```\n```shell\ncurl -s x\n```\n```js\nimport "@tally/sdk"\n```').map((s) => s.kind)).toEqual(['unknown', 'unknown']);
    expect(steps[1]).toMatchObject({ text: "curl -s x -d '{\n  \"a\": 1 }'", expect: '{"ok":true,"n":…}' });
    expect(shapeMismatches(parseShown('{"ok":true,"n":…,"l":[{"a":"…",…}],…}'), { ok: false, n: null, l: [{ a: 's', b: 1 }], x: 1 })).toEqual([]);
    expect(shapeMismatches(parseShown('{"ok":true,"n":1}'), { ok: true, m: 1 })).toEqual(['$.n: shown in the docs, missing from the answer']);
    expect(shapeMismatches(parseShown('{"n":1}'), { n: '1' })).toHaveLength(1);
  });

  const docs = extractAll(ROOT);
  it('finds the snippets of README.md and docs/', () => {
    expect([...docs.keys()]).toEqual(expect.arrayContaining(['README.md', 'docs/catalog.md', 'docs/billing.md', 'docs/operator-api.md']));
  });

  for (const [file, steps] of docs) {
    it(`${file}: every snippet runs as written and answers the shape shown`, async () => {
      const doc = await seed();
      if (file === 'README.md') writeFileSync(join(ROOT, USAGE_FILE), usageRows());
      try {
        for (const step of steps) await runStep(doc, step);
        expect(doc.pendingClient, `${file}: the client snippet saved as ${doc.pendingClient} was never run by the docs`).toBeUndefined();
      } finally {
        if (file === 'README.md') rmSync(join(ROOT, USAGE_FILE), { force: true });
        for (const written of doc.written) rmSync(join(ROOT, written), { force: true });
      }
    });
  }
});
