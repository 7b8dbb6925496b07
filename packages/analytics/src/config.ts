import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { IMPORT_QUEUE } from './imports/import.queue.ts';

/** Environment of the analytics area, merged into the API's and the workers' config schemas. */
export const analyticsEnv = z.object({
  /** Where uploads are spooled as chunk files; must be shared by the API and the workers. */
  TALLY_DATA_DIR: z.string().min(1).optional(),
  /** BullMQ queue of import chunks and reverts (tests give each stack its own). */
  IMPORT_QUEUE: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, - and _').default(IMPORT_QUEUE),
});
export type AnalyticsEnv = z.infer<typeof analyticsEnv>;

export const importRoot = (env: AnalyticsEnv) => path.join(env.TALLY_DATA_DIR ?? os.tmpdir(), 'tally-imports');
