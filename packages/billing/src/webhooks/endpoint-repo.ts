import type { Pool } from '@tally/postgres';

export interface Endpoint {
  id: string;
  tenantId: string;
  url: string;
  secret: string;
  events: string[];
  createdAt: Date;
}

export interface EndpointStore {
  insert(e: Omit<Endpoint, 'createdAt'>): Promise<Endpoint>;
  /** The tenant's endpoints not deleted, oldest first. */
  list(tenantId: string): Promise<Endpoint[]>;
  get(tenantId: string, id: string): Promise<Endpoint | null>;
  /** Soft-deletes; whether there was one to delete. */
  remove(tenantId: string, id: string): Promise<boolean>;
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

/** webhook_endpoints in Postgres. */
export class EndpointRepo implements EndpointStore {
  constructor(private readonly pool: Pool) {}

  async insert(e: Omit<Endpoint, 'createdAt'>): Promise<Endpoint> {
    const { rows } = await this.pool.query<Row>(
      'INSERT INTO webhook_endpoints (id, tenant_id, url, secret, events) VALUES ($1, $2, $3, $4, $5) RETURNING *',
      [e.id, e.tenantId, e.url, e.secret, e.events],
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

  async get(tenantId: string, id: string): Promise<Endpoint | null> {
    const { rows } = await this.pool.query<Row>('SELECT * FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL', [
      tenantId,
      id,
    ]);
    return rows[0] ? toEndpoint(rows[0]) : null;
  }

  async remove(tenantId: string, id: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      'UPDATE webhook_endpoints SET deleted_at = now() WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL',
      [tenantId, id],
    );
    return (rowCount ?? 0) > 0;
  }
}
