import { describe, expect, it } from 'vitest';
import { UnrecoverableError, type Job } from 'bullmq';
import { createLogger } from '@tally/runtime';
import { importProcessor, type ImportJobDeps } from './import.processor.ts';

const IMPORT = '0b5f1f5e-8d7a-4c1e-9a51-3f0b3c7a9d10';
const logger = createLogger('test', 'silent');

function recording() {
  const calls: unknown[][] = [];
  const deps: ImportJobDeps = {
    imports: {
      processChunk: async (...args) => void calls.push(['chunk', ...args]),
      revert: async (...args) => void calls.push(['revert', ...args]),
    },
    store: { transition: async (...args) => (calls.push(['transition', ...args]), true) },
    logger,
  };
  return { calls, run: (data: unknown) => importProcessor(deps)({ id: 'j1', queueName: 'import', data } as Job<unknown>) };
}

describe('the import queue processor', () => {
  it('hands a chunk job and a revert job to the import service', async () => {
    const { calls, run } = recording();
    await run({ kind: 'chunk', importId: IMPORT, tenantId: 't1', chunk: 3 });
    await run({ kind: 'revert', importId: IMPORT, tenantId: 't1' });
    expect(calls).toEqual([
      ['chunk', IMPORT, 't1', 3],
      ['revert', IMPORT, 't1'],
    ]);
  });

  it('an invalid payload fails for good (no retry) and marks its queued or running import failed with the reason', async () => {
    const { calls, run } = recording();
    const failed = run({ kind: 'chunk', importId: IMPORT, tenantId: 't1', chunk: -1 });
    await expect(failed).rejects.toBeInstanceOf(UnrecoverableError);
    await expect(failed).rejects.toThrow(/invalid import job payload: chunk: /);
    expect(calls).toEqual([['transition', IMPORT, 't1', ['queued', 'running'], 'failed', expect.stringMatching(/^invalid import job payload: chunk: /)]]);
  });

  it('a payload that does not even name its import fails for good and touches no import', async () => {
    const { calls, run } = recording();
    await expect(run({ kind: 'nope' })).rejects.toBeInstanceOf(UnrecoverableError);
    await expect(run('garbage')).rejects.toBeInstanceOf(UnrecoverableError);
    await expect(run({ kind: 'chunk', importId: 'not-a-uuid', tenantId: 't1', chunk: 0 })).rejects.toBeInstanceOf(UnrecoverableError);
    expect(calls).toEqual([]);
  });

  it('a store that cannot mark the import still fails the job for good', async () => {
    const deps: ImportJobDeps = {
      imports: { processChunk: async () => {}, revert: async () => {} },
      store: { transition: async () => Promise.reject(new Error('postgres is down')) },
      logger,
    };
    await expect(importProcessor(deps)({ id: 'j', queueName: 'import', data: { kind: 'chunk', importId: IMPORT, tenantId: 't1' } } as Job<unknown>)).rejects.toBeInstanceOf(
      UnrecoverableError,
    );
  });
});
