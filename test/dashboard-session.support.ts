import { apiUrl } from './support/stack.ts';

/** A dashboard sign-in as a browser holds it: the cookie it was given and the CSRF token of the answer. */
export interface SignedIn {
  status: number;
  body: any;
  setCookie: string[];
  /** `tally_session=<token>`, for a Cookie header. */
  cookie: string;
  token: string;
  csrfToken: string;
}

export async function signIn(apiKey: unknown, base = apiUrl(), headers: Record<string, string> = {}): Promise<SignedIn> {
  const res = await fetch(`${base}/dashboard/api/session`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ apiKey }),
  });
  const body = await res.json().catch(() => null);
  const setCookie = res.headers.getSetCookie();
  const token = /^tally_session=([^;]*)/.exec(setCookie[0] ?? '')?.[1] ?? '';
  return { status: res.status, body, setCookie, cookie: `tally_session=${token}`, token, csrfToken: body?.csrfToken ?? '' };
}

/** A call carrying only the cookie (no Authorization), with extra headers such as X-CSRF-Token or Origin. */
export async function withCookie(cookie: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}, base = apiUrl()) {
  const res = await fetch(base + path, {
    method,
    headers: { Cookie: cookie, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed, headers: res.headers };
}
