import { describe, expect, it } from 'vitest';
import { whileRetriable } from './retriable.ts';

const retriable = () => Object.assign(new Error('This server does not host this topic-partition'), { retriable: true });

describe('whileRetriable', () => {
  it('tries again after a retriable error and returns the first success', async () => {
    let calls = 0;
    const got = await whileRetriable(async () => {
      calls++;
      if (calls < 3) throw retriable();
      return 'subscribed';
    });
    expect(got).toBe('subscribed');
    expect(calls).toBe(3);
  });

  it('gives up at once on an error that is not retriable', async () => {
    let calls = 0;
    await expect(
      whileRetriable(async () => {
        calls++;
        throw new Error('SASL authentication failed');
      }),
    ).rejects.toThrow('SASL');
    expect(calls).toBe(1);
  });

  it('throws the last retriable error once the time is up', async () => {
    let calls = 0;
    await expect(
      whileRetriable(async () => {
        calls++;
        throw retriable();
      }, 250),
    ).rejects.toThrow('topic-partition');
    expect(calls).toBeGreaterThan(1);
  });
});
