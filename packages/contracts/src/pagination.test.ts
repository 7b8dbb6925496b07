import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { cursorSchema, encodeCursor, pageQueryShape, toPage } from './pagination.ts';

const key = z.tuple([z.string(), z.string()]);
const query = z.object(pageQueryShape(key));

describe('cursor pagination', () => {
  it('round-trips a key through an opaque base64url cursor', () => {
    const c = encodeCursor(['2026-12-01T00:00:00.000Z', 'cus_1']);
    expect(c).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(query.parse({ cursor: c })).toEqual({ limit: 20, cursor: ['2026-12-01T00:00:00.000Z', 'cus_1'] });
  });

  it.each([['not base64!'], [Buffer.from('{oops').toString('base64url')], [encodeCursor({ a: 1 })], [encodeCursor([1, 2])]])('refuses cursor %j naming cursor', (cursor) => {
    const r = query.safeParse({ cursor });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.join('.'))).toEqual(['cursor']);
  });

  it('limit is 1..100, default 20', () => {
    expect(query.safeParse({ limit: '0' }).success).toBe(false);
    expect(query.safeParse({ limit: '101' }).success).toBe(false);
    expect(query.parse({ limit: '100' }).limit).toBe(100);
  });

  it('cuts limit + 1 rows into a page whose cursor is the last kept key', () => {
    const rows = [1, 2, 3];
    expect(toPage(rows, 2, (r) => [String(r), 'x'])).toEqual({ data: [1, 2], hasMore: true, nextCursor: encodeCursor(['2', 'x']) });
    expect(toPage(rows, 3, (r) => r)).toEqual({ data: [1, 2, 3], hasMore: false, nextCursor: null });
    expect(cursorSchema(key).safeParse(encodeCursor(['2', 'x'])).data).toEqual(['2', 'x']);
  });
});
