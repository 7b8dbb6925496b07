import { keys, type RedisClient } from '@tally/redis';

/**
 * A fixed-window counter in Redis, so one limit holds across every API
 * process. The window starts with the first hit of a subject (SET NX PX) and
 * the counter dies with it; the three commands run in one MULTI, so a counter
 * never outlives its window.
 */
export class WindowLimiter {
  constructor(
    private readonly redis: RedisClient,
    private readonly name: string,
    /** Hits allowed per window; 0 turns the limit off. */
    readonly limit: number,
    readonly windowMs = 60_000,
  ) {}

  get enabled(): boolean {
    return this.limit > 0;
  }

  private key(subject: string): string {
    return keys.custom('ratelimit', this.name, subject);
  }

  /** Seconds until the subject may try again when it is over the limit; null while under it. */
  async blocked(subject: string): Promise<number | null> {
    if (!this.enabled) return null;
    const [count, ttl] = await Promise.all([this.redis.get(this.key(subject)), this.redis.pttl(this.key(subject))]);
    return Number(count ?? 0) >= this.limit ? retryAfter(ttl, this.windowMs) : null;
  }

  /** Counts one hit; seconds to wait when this hit is past the limit, else null. */
  async hit(subject: string): Promise<number | null> {
    if (!this.enabled) return null;
    const key = this.key(subject);
    const replies = await this.redis.multi().set(key, '0', 'PX', this.windowMs, 'NX').incr(key).pttl(key).exec();
    if (!replies) throw new Error('rate limit transaction aborted');
    for (const [err] of replies) if (err) throw err;
    const count = Number(replies[1]?.[1]);
    return count > this.limit ? retryAfter(Number(replies[2]?.[1]), this.windowMs) : null;
  }
}

const retryAfter = (pttl: number, windowMs: number): number => Math.max(1, Math.ceil((pttl > 0 ? pttl : windowMs) / 1000));

/**
 * The address a limit counts against: the peer's IP (Tally does not trust
 * X-Forwarded-For), IPv4-mapped IPv6 as plain IPv4, and IPv6 by its /64 —
 * one host usually holds a whole /64, so counting single addresses would
 * give it 2^64 budgets.
 */
export function clientAddress(remote: string | undefined): string {
  if (!remote) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remote);
  if (mapped) return mapped[1]!;
  if (!remote.includes(':')) return remote;
  const [head = '', tail = ''] = remote.split('%')[0]!.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = remote.includes('::') ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => (g || '0').toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
