/**
 * HTTP to the stack's APIs, spread over them. A request that got no answer
 * (connection reset by a kill -9, 5xx) is retried with the same body — the
 * same event id and payload — on the next API, as Tally's SDK does, so every
 * operation ends acknowledged or refused and the model knows which.
 */
export interface Answer {
  status: number;
  body: unknown;
  /** Which API answered, and after how many attempts. */
  api: number;
  attempts: number;
  /** What the attempts before the answered one got (a status, or "no answer"). */
  earlier: string[];
}

export class Apis {
  private next = 0;
  constructor(readonly urls: string[], private readonly retryForMs = 45_000) {}

  async call(secret: string, method: string, path: string, body?: unknown, pin?: number, headers: Record<string, string> = {}): Promise<Answer> {
    const deadline = Date.now() + this.retryForMs;
    let api = pin ?? this.next++ % this.urls.length;
    const earlier: string[] = [];
    for (let attempts = 1; ; attempts++) {
      try {
        const res = await fetch(this.urls[api]! + path, {
          method,
          headers: { Authorization: `Bearer ${secret}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
          // a string is sent as it is (NDJSON imports: pass its Content-Type in `headers`)
          body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
          signal: AbortSignal.timeout(15_000),
        });
        const text = await res.text();
        const parsed: unknown = text ? safeJson(text) : null;
        // 429: over a per-tenant rate limit (the compare's thousands of GETs at the end); nothing was done, so ask again after Retry-After
        if ((res.status < 500 && res.status !== 429) || Date.now() > deadline) return { status: res.status, body: parsed, api, attempts, earlier };
        earlier.push(`api${api + 1} ${res.status} ${JSON.stringify(parsed).slice(0, 120)}`);
        if (res.status === 429) {
          await new Promise((r) => setTimeout(r, 1000 * Math.max(1, Number(res.headers.get('retry-after') ?? 1))));
          continue;
        }
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`${method} ${path}: no answer within ${this.retryForMs} ms (${String(err)})`);
        earlier.push(`api${api + 1} no answer (${String(err).slice(0, 80)})`);
      }
      await new Promise((r) => setTimeout(r, Math.min(2000, 100 * attempts)));
      if (pin === undefined) api = (api + 1) % this.urls.length;
    }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
