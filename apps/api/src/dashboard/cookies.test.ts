import { createHash } from 'node:crypto';
import type { Request } from 'express';
import { describe, expect, it } from 'vitest';
import { sessionCookie } from './cookies.ts';
import { csrfMatches, csrfTokenOf } from './sessions.ts';

const req = (cookie?: string) => ({ headers: cookie === undefined ? {} : { cookie } }) as unknown as Request;

describe('sessionCookie', () => {
  it('finds tally_session among other cookies, and nothing when absent', () => {
    expect(sessionCookie(req('a=1; tally_session=abc_-DEF; b=2'))).toBe('abc_-DEF');
    expect(sessionCookie(req('tally_session=first; tally_session=second'))).toBe('first');
    expect(sessionCookie(req('not_tally_session=x; tally_sessionx=y'))).toBeUndefined();
    expect(sessionCookie(req(''))).toBeUndefined();
    expect(sessionCookie(req())).toBeUndefined();
  });
});

describe('the CSRF token', () => {
  const token = Buffer.alloc(32, 7).toString('base64url');

  it('is the prefixed SHA-256 of the session token, not the token nor its stored digest', () => {
    const expected = createHash('sha256').update(`tally-dashboard-csrf:${token}`).digest('base64url');
    expect(csrfTokenOf(token)).toBe(expected);
    expect(csrfTokenOf(token)).not.toBe(createHash('sha256').update(token).digest('base64url'));
  });

  it('matches only exactly', () => {
    const csrf = csrfTokenOf(token);
    expect(csrfMatches(token, csrf)).toBe(true);
    for (const wrong of [undefined, '', csrf.slice(0, -1), `${csrf}x`, token, csrfTokenOf(`${token.slice(0, -1)}A`)]) {
      expect(csrfMatches(token, wrong)).toBe(false);
    }
  });
});
