import { randomBytes, randomUUID } from 'node:crypto';
import type { Pool } from '@tally/postgres';
import { notFound } from '@tally/runtime';
import { assertWebhookTarget, STRICT_WEBHOOK_TARGETS, systemResolver, type Resolver, type WebhookTargetPolicy } from './target-policy.ts';

export interface Endpoint {
  id: string;
  tenantId: string;
  url: string;
  secret: string;
  events: string[];
  createdAt: Date;
}

interface Row {
  id: string;
  tenant_id: string;
  url: string;
  secret: string;
  events: string[];
  created_at: Date;
}
const toEndpoint = (r: Row): Endpoint => ({ id: r.id, tenantId: r.tenant_id, url: r.url, secret: r.secret, events: r.events, createdAt: r.created_at });

/**
 * A tenant's webhook endpoints. The signing secret is generated here and shown
 * once. A URL that is not https (unless the deployment allows http) or that
 * resolves to a non-public address is refused: 400 naming it, nothing stored.
 */
export class WebhookEndpoints {
  constructor(
    private readonly pool: Pool,
    private readonly targets: WebhookTargetPolicy = STRICT_WEBHOOK_TARGETS,
    private readonly resolve: Resolver = systemResolver,
  ) {}

  async create(tenantId: string, url: string, events: string[]): Promise<Endpoint> {
    await assertWebhookTarget(url, this.targets, this.resolve);
    const secret = `whsec_${randomBytes(24).toString('base64url')}`;
    const { rows } = await this.pool.query<Row>(
      'INSERT INTO webhook_endpoints (id, tenant_id, url, secret, events) VALUES ($1, $2, $3, $4, $5) RETURNING *',
      [randomUUID(), tenantId, url, secret, [...new Set(events)]],
    );
    return toEndpoint(rows[0]!);
  }

  async list(tenantId: string): Promise<Endpoint[]> {
    const { rows } = await this.pool.query<Row>(
      'SELECT * FROM webhook_endpoints WHERE tenant_id = $1 AND deleted_at IS NULL ORDER BY created_at, id',
      [tenantId],
    );
    return rows.map(toEndpoint);
  }

  async get(tenantId: string, id: string): Promise<Endpoint> {
    const { rows } = await this.pool.query<Row>('SELECT * FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL', [
      tenantId,
      id,
    ]);
    if (!rows[0]) throw notFound('endpoint_not_found', `webhook endpoint ${id} does not exist`);
    return toEndpoint(rows[0]);
  }

  async remove(tenantId: string, id: string): Promise<void> {
    const { rowCount } = await this.pool.query(
      'UPDATE webhook_endpoints SET deleted_at = now() WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL',
      [tenantId, id],
    );
    if (!rowCount) throw notFound('endpoint_not_found', `webhook endpoint ${id} does not exist`);
  }
}
