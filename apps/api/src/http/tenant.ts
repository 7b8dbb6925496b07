/** The tenant a request acts for, resolved from its API key. */
export interface Tenant {
  tenantId: string;
  organizationId: string;
  environment: 'test' | 'live';
  apiKeyId: string;
}
