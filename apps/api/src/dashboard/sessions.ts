import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Pool } from '@tally/postgres';
import { asDependencyError } from '@tally/postgres';
import type { Tenant } from '../http/tenant.ts';

/** A session as the middleware sees it: the tenant of the key that opened it. */
export interface DashboardSession {
  id: string;
  tenant: Tenant;
  expiresAt: Date;
}

/** 32 random bytes, base64url: the cookie value. Never stored; only its SHA-256 is. */
const newToken = (): string => randomBytes(32).toString('base64url');
const digest = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();
const looksLikeToken = (token: string): boolean => /^[A-Za-z0-9_-]{43}$/.test(token);

/**
 * The CSRF token is derived from the session token (a domain-separated SHA-256), so nothing more is
 * stored and GET /dashboard/api/session can hand it out again. It cannot be turned back into the
 * session token, and a cross-site page can read neither (SameSite=Strict cookie, same-origin reads).
 */
export const csrfTokenOf = (token: string): string => createHash('sha256').update(`tally-dashboard-csrf:${token}`, 'utf8').digest('base64url');

export function csrfMatches(token: string, presented: string | undefined): boolean {
  if (!presented) return false;
  const expected = Buffer.from(csrfTokenOf(token));
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

interface SessionRow {
  id: string;
  tenant_id: string;
  organization_id: string;
  environment: 'test' | 'live';
  api_key_id: string;
  expires_at: Date;
  /** false once the session or its key ended (revoked, expired, rotated past its overlap). */
  live: boolean;
}

/** A session is live while it is neither expired nor signed out and its key is neither revoked nor expired. */
const LIVE = `(s.revoked_at IS NULL AND s.expires_at > now() AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now()))`;

/** Ended sessions deleted per sweep; the sweep runs at each sign-in. */
const SWEEP_BATCH = 500;

/**
 * Dashboard sessions in Postgres (dashboard_sessions, migration 0023). A session is looked up on
 * every request together with its key, so a revoked (or expired) key ends its sessions on every
 * API process at once, with no cache to invalidate; the row is then marked revoked too.
 */
export class SessionService {
  constructor(
    private readonly pool: Pool,
    private readonly ttlSeconds: number,
  ) {}

  /** Opens a session for an authenticated key; returns the token (for the cookie) once. */
  async open(tenant: Tenant): Promise<{ token: string; session: DashboardSession }> {
    const token = newToken();
    const id = randomUUID();
    const { rows } = await this.query<{ expires_at: Date }>(
      `INSERT INTO dashboard_sessions (id, token_hash, tenant_id, api_key_id, expires_at)
       VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5)) RETURNING expires_at`,
      [id, digest(token), tenant.tenantId, tenant.apiKeyId, this.ttlSeconds],
    );
    void this.sweep().catch(() => {}); // best effort: a failed sweep is retried at the next sign-in
    return { token, session: { id, tenant, expiresAt: rows[0]!.expires_at } };
  }

  /** The live session a cookie names, or null (unknown, expired, signed out, or its key revoked/expired). */
  async resolve(token: string): Promise<DashboardSession | null> {
    if (!looksLikeToken(token)) return null;
    const { rows } = await this.query<SessionRow>(
      `SELECT s.id, s.tenant_id, t.organization_id, t.environment, s.api_key_id, s.expires_at,
              ${LIVE} AS live
         FROM dashboard_sessions s
         JOIN tenants t ON t.id = s.tenant_id
         JOIN api_keys k ON k.id = s.api_key_id AND k.tenant_id = s.tenant_id
        WHERE s.token_hash = $1`,
      [digest(token)],
    );
    const row = rows[0];
    if (!row) return null;
    if (!row.live) {
      // swept lazily: an ended session seen again is deleted
      await this.query('DELETE FROM dashboard_sessions WHERE id = $1', [row.id]).catch(() => {});
      return null;
    }
    return {
      id: row.id,
      expiresAt: row.expires_at,
      tenant: { tenantId: row.tenant_id, organizationId: row.organization_id, environment: row.environment, apiKeyId: row.api_key_id },
    };
  }

  /** Whether a session resolved earlier is still live (a long-lived stream asks again). */
  async isLive(sessionId: string): Promise<boolean> {
    const { rows } = await this.query<{ live: boolean }>(
      `SELECT ${LIVE} AS live FROM dashboard_sessions s JOIN api_keys k ON k.id = s.api_key_id WHERE s.id = $1`,
      [sessionId],
    );
    return rows[0]?.live === true;
  }

  /** Sign-out: the row is revoked (kept until the sweep) so the cookie is refused everywhere at once. */
  async revoke(sessionId: string): Promise<void> {
    await this.query('UPDATE dashboard_sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [sessionId]);
  }

  /** Deletes ended sessions (expired, signed out, or whose key was revoked), a batch at a time. */
  async sweep(): Promise<number> {
    const { rowCount } = await this.query(
      `DELETE FROM dashboard_sessions WHERE id IN (
         SELECT s.id FROM dashboard_sessions s JOIN api_keys k ON k.id = s.api_key_id
          WHERE s.expires_at <= now() OR s.revoked_at IS NOT NULL OR k.revoked_at IS NOT NULL
             OR (k.expires_at IS NOT NULL AND k.expires_at <= now())
          ORDER BY s.expires_at LIMIT $1)`,
      [SWEEP_BATCH],
    );
    return rowCount ?? 0;
  }

  private async query<R extends object = Record<string, unknown>>(text: string, values: unknown[]) {
    try {
      return await this.pool.query<R>(text, values);
    } catch (err) {
      throw asDependencyError(err);
    }
  }
}
