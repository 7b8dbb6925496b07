import { readFileSync } from 'node:fs';
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
    for (const c of ['ValidationError', 'Unauthorized', 'customer_not_found', 'feature_not_found', 'pack_not_found', 'service_unavailable']) {
      expect(codes).toContain(c);
    }
  });
});
