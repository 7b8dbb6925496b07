import { randomBytes, randomUUID } from 'node:crypto';
import type { Endpoint, EndpointStore } from './endpoint-repo.ts';
import { assertWebhookTarget, STRICT_WEBHOOK_TARGETS, systemResolver, type Resolver, type WebhookTargetPolicy } from './target-policy.ts';
import { billingErrors } from '../errors.ts';

/**
 * A tenant's webhook endpoints. The signing secret is generated here and shown
 * once. A URL that is not https (unless the deployment allows http) or that
 * resolves to a non-public address is refused: 400 naming it, nothing stored.
 */
export class WebhookEndpoints {
  constructor(
    private readonly store: EndpointStore,
    private readonly targets: WebhookTargetPolicy = STRICT_WEBHOOK_TARGETS,
    private readonly resolve: Resolver = systemResolver,
  ) {}

  async create(tenantId: string, url: string, events: string[]): Promise<Endpoint> {
    await assertWebhookTarget(url, this.targets, this.resolve);
    const secret = `whsec_${randomBytes(24).toString('base64url')}`;
    return this.store.insert({ id: randomUUID(), tenantId, url, secret, events: [...new Set(events)] });
  }

  list(tenantId: string): Promise<Endpoint[]> {
    return this.store.list(tenantId);
  }

  async get(tenantId: string, id: string): Promise<Endpoint> {
    const endpoint = await this.store.get(tenantId, id);
    if (!endpoint) throw billingErrors.endpoint_not_found(`webhook endpoint ${id} does not exist`);
    return endpoint;
  }

  async remove(tenantId: string, id: string): Promise<void> {
    if (!(await this.store.remove(tenantId, id))) throw billingErrors.endpoint_not_found(`webhook endpoint ${id} does not exist`);
  }
}
