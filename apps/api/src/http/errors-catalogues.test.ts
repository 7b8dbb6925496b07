import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyticsErrors } from '@tally/analytics';
import { billingErrors } from '@tally/billing';
import { catalogErrors } from '@tally/catalog';
import { meteringErrors } from '@tally/metering';
import { paymentErrors } from '@tally/payments';
import { createLogger, type ErrorFactory } from '@tally/runtime';
import { errorHandler } from './errors.ts';
import { ERROR_CATALOGUES, errorCodeTable } from './errors-catalogues.ts';

const docs = readFileSync(new URL('../../../../docs/errors.md', import.meta.url), 'utf8');

/** Rows of docs/errors.md's table: | `code` | status | yes/no | meaning | */
const docRows = new Map(
  docs
    .split('\n')
    .filter((l) => /^\| `/.test(l))
    .map((l) => {
      const [code, status, retryable, meaning] = l.split(/\s*\|\s*/).slice(1, 5);
      return [code!.replace(/`/g, ''), { status: Number(status), retryable: retryable === 'yes', meaning: meaning! }] as const;
    }),
);

// the factories by package and code, for a route that throws any of them
const catalogues = { analytics: analyticsErrors, billing: billingErrors, catalog: catalogErrors, metering: meteringErrors, payments: paymentErrors } as unknown as Record<string, Record<string, ErrorFactory>>;
const declared = Object.entries(ERROR_CATALOGUES).flatMap(([pkg, codes]) => codes.map((c) => ({ pkg, ...c })));

describe("the packages' error catalogues", () => {
  it('every declared code is a row of docs/errors.md, with the same status, retryability and meaning', () => {
    expect(declared.length).toBeGreaterThan(30);
    const off = declared
      .filter((c) => {
        const row = docRows.get(c.code);
        return !row || row.status !== c.status || row.retryable !== c.retryable || row.meaning !== c.meaning;
      })
      .map((c) => `${c.pkg}: ${c.code}`);
    expect(off).toEqual([]);
  });

  it('agree with the registry (the table builds), and a code declared twice is declared alike', () => {
    const table = errorCodeTable();
    expect(table.find((r) => r.code === 'provider_not_configured')?.declaredBy).toEqual(['payments']);
    expect(table.find((r) => r.code === 'customer_not_found')?.declaredBy).toEqual(['catalog']);
    expect(table.find((r) => r.code === 'rebuild_busy')?.declaredBy).toEqual(['metering']);
    const seen = new Map<string, string>();
    for (const c of declared) {
      const again = seen.get(c.code);
      if (again) expect(`${c.code}: ${again}`).toBe(`${c.code}: ${c.pkg}`); // one owner per code
      seen.set(c.code, c.pkg);
    }
  });

  it("a factory's error carries the declared status and retryability", () => {
    const e = paymentErrors.provider_unavailable('stripe: timeout');
    expect({ code: e.code, status: e.status, retryable: e.retryable }).toEqual({ code: 'provider_unavailable', status: 503, retryable: true });
    const d = billingErrors.payment_mismatch('no', { details: { reference: 'r1' } });
    expect({ status: d.status, retryable: d.retryable, details: d.details }).toEqual({ status: 400, retryable: false, details: { reference: 'r1' } });
  });
});

describe('every declared 503 and 429 answers with Retry-After', () => {
  let server: Server;
  let base = '';
  beforeAll(async () => {
    const app = express();
    app.get('/throw/:pkg/:code', (req) => {
      throw catalogues[req.params.pkg!]![req.params.code!]!(`thrown ${req.params.code}`);
    });
    app.use(errorHandler(createLogger('test', 'silent')));
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it('and every other declared code with its own status and code, without it', async () => {
    for (const c of declared) {
      const res = await fetch(`${base}/throw/${c.pkg}/${c.code}`);
      const body = (await res.json()) as { error: { code: string } };
      expect([res.status, body.error.code], c.code).toEqual([c.status, c.code]);
      const retryAfter = res.headers.get('retry-after');
      if (c.status === 503 || c.status === 429) expect(Number(retryAfter), c.code).toBeGreaterThan(0);
      else expect(retryAfter, c.code).toBeNull();
    }
  });
});
