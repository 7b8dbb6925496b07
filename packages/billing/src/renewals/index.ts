export * from './config.ts';
export * from './renewal-repo.ts';
export * from './renewal-service.ts';
export * from './renewal-view.ts';
export * from './renewing-plan-checkout.ts';
export * from './renewal-purchases.ts';
