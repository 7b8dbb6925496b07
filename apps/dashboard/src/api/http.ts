/**
 * The one way the dashboard talks to Tally: same-origin fetch with the session cookie (httpOnly, so the
 * browser sends it and no script can read it) and, on every write, the session's CSRF token in
 * X-CSRF-Token. The API key is only ever sent once, in the body of POST /dashboard/api/session.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken: string | null = null;
export const setCsrfToken = (token: string | null): void => {
  csrfToken = token;
};

type Query = Record<string, string | number | boolean | undefined | null>;

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

export function writeHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return csrfToken ? { 'X-CSRF-Token': csrfToken, ...extra } : extra;
}

async function errorOf(res: Response): Promise<ApiError> {
  let code = `http_${res.status}`;
  let message = res.statusText || `HTTP ${res.status}`;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    if (body.error?.code) code = body.error.code;
    if (body.error?.message) message = body.error.message;
  } catch {
    /* not JSON: keep the status text */
  }
  return new ApiError(res.status, code, message);
}

export async function request<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
  const write = method !== 'GET' && method !== 'HEAD';
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(withQuery(path, query), {
    method,
    credentials: 'same-origin',
    headers: write ? writeHeaders(headers) : headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw await errorOf(res);
  if (res.status === 204) return undefined as T;
  const type = res.headers.get('content-type') ?? '';
  // application/json only: NDJSON (rejected rows) is text, one JSON document a line.
  return (/^application\/json\b/.test(type) ? await res.json() : await res.text()) as T;
}

export const get = <T>(path: string, query?: Query) => request<T>('GET', path, undefined, query);
export const post = <T>(path: string, body?: unknown, query?: Query) => request<T>('POST', path, body ?? {}, query);
export const del = <T>(path: string) => request<T>('DELETE', path);
export const put = <T>(path: string, body: unknown) => request<T>('PUT', path, body);
