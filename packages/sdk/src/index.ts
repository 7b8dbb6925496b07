export { Tally, type TallyOptions, type CheckInput, type TrackInput, type TrackAnswer, type TrackBatchAnswer } from './client.ts';
export { TallyError } from './errors.ts';
export {
  metered,
  boolean,
  creditSystem,
  plan,
  creditPack,
  type MeteredFeature,
  type BooleanFeature,
  type CreditSystemRef,
  type PlanRef,
  type CreditPackRef,
  type PlanEntry,
  type CreditSystemMember,
  type LimitOptions,
  type ResetInterval,
  type Overage,
} from './dsl.ts';
export { buildSyncBody, CatalogConfigError } from './collect.ts';
export { usageQueryString, type UsageParams, type UsageAnswer, type UsageRow } from './usage.ts';
export { importMain } from './cli-import.ts';
export { deadLettersMain, formatPage as formatDeadLetterPage } from './cli-dead-letters.ts';
export { keysMain, keyLine } from './cli-keys.ts';
export { usageMain } from './cli-usage.ts';
