import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from './error-codes.ts';

const docs = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');

/** Rows of the markdown table: | `code` | status | yes/no | meaning | */
function tableRows(md: string) {
  return md
    .split('\n')
    .filter((l) => /^\| `/.test(l))
    .map((l) => {
      const [code, status, retryable, meaning] = l.split(/\s*\|\s*/).slice(1, 5);
      return { code: code!.replace(/`/g, ''), status: Number(status), retryable: retryable === 'yes', meaning: meaning! };
    });
}

describe('docs/errors.md', () => {
  it('lists exactly the registry, row for row', () => {
    expect(tableRows(docs)).toEqual(ERROR_CODES.map((e) => ({ ...e })));
  });

  it('has at least the codes the HTTP contract names', () => {
    const codes = tableRows(docs).map((r) => r.code);
    for (const c of ['validation_error', 'unauthorized', 'customer_not_found', 'feature_not_found', 'pack_not_found', 'service_unavailable']) {
      expect(codes).toContain(c);
    }
  });
});

/** Codes thrown only inside jobs (BullMQ retries them); no HTTP answer carries them. */
const JOB_ONLY = new Set(['RowsClaimedElsewhere', 'state_behind', 'import_rows_pending', 'invalid_job', 'webhook_delivery_failed']);

const repo = fileURLToPath(new URL('../../../', import.meta.url));

function sources(): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  for (const top of ['packages', 'apps']) {
    for (const pkg of readdirSync(path.join(repo, top))) {
      const src = path.join(repo, top, pkg, 'src');
      if (!existsSync(src)) continue;
      for (const f of readdirSync(src, { recursive: true }) as string[]) {
        if (!f.endsWith('.ts') || /\.test\.ts$/.test(f) || f.split(path.sep).includes('testing')) continue;
        out.push({ path: path.join(top, pkg, 'src', f), text: readFileSync(path.join(src, f), 'utf8') });
      }
    }
  }
  return out;
}

/** Every code the sources throw or answer with, and the status the throw site gives it (null: not stated there). */
function thrownCodes() {
  const files = sources();
  const constants = new Map<string, string>();
  for (const f of files) for (const m of f.text.matchAll(/const ([A-Z][A-Z_]+) = '([A-Za-z_]+)'/g)) constants.set(m[1]!, m[2]!);
  const found: { code: string; status: number | null; at: string }[] = [];
  const helperStatus: Record<string, number> = { badRequest: 400, notFound: 404, conflict: 409 };
  for (const f of files) {
    for (const m of f.text.matchAll(/\b(badRequest|notFound|conflict)\(\s*'([A-Za-z_]+)'/g)) found.push({ code: m[2]!, status: helperStatus[m[1]!]!, at: f.path });
    for (const m of f.text.matchAll(/new AppError\(\s*(?:'([A-Za-z_]+)'|([A-Z][A-Z_]+))\s*,([^;]*?)\)\s*[;\n]/g)) {
      const code = m[1] ?? constants.get(m[2]!);
      if (!code) throw new Error(`${f.path}: AppError with constant ${m[2]} whose value is not found`);
      const status = /status: (\d{3})/.exec(m[3]!)?.[1];
      found.push({ code, status: status ? Number(status) : null, at: f.path });
    }
    for (const m of f.text.matchAll(/error: \{ code: '([A-Za-z_]+)'/g)) found.push({ code: m[1]!, status: null, at: f.path });
    // answers written before any handler runs: refused keys and sessions, bodies that do not parse
    for (const m of f.text.matchAll(/\brefusal\(\s*'([A-Za-z_]+)'/g)) found.push({ code: m[1]!, status: null, at: f.path });
    for (const m of f.text.matchAll(/\bsend\(res, (\d{3}), \{ code: '([A-Za-z_]+)'/g)) found.push({ code: m[2]!, status: Number(m[1]), at: f.path });
  }
  return found;
}

describe('the registry', () => {
  it('lists every code the sources throw, with the status the throw site gives it', () => {
    const registry = new Map(ERROR_CODES.map((e) => [e.code, e]));
    const found = thrownCodes();
    expect(found.length).toBeGreaterThan(50);
    const missing = found.filter((f) => !JOB_ONLY.has(f.code) && !registry.has(f.code)).map((f) => `${f.code} (${f.at})`);
    expect(missing).toEqual([]);
    const wrongStatus = found
      .filter((f) => f.status !== null && registry.has(f.code) && registry.get(f.code)!.status !== f.status)
      .map((f) => `${f.code}: ${f.status} at ${f.at}, registry ${registry.get(f.code)!.status}`);
    expect(wrongStatus).toEqual([]);
  });

  it('has one entry per code, every one snake_case, retryable exactly for 429 and 503 (and a busy repair)', () => {
    const codes = ERROR_CODES.map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const e of ERROR_CODES) {
      expect(e.code).toMatch(/^[a-z]+(_[a-z0-9]+)*$/);
      expect(e.retryable, e.code).toBe(e.status === 429 || e.status === 503 || e.code === 'repair_in_progress');
    }
  });
});
