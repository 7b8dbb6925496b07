/**
 * The metrics token of the e2e stack (global-setup puts it in stackEnv): /metrics
 * and the details of /readyz answer only with it (docs/security.md).
 */
export const METRICS_TOKEN = 'e2e-metrics-token-not-a-secret';
export const opsHeaders = { Authorization: `Bearer ${METRICS_TOKEN}` };
