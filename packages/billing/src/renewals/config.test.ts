import { describe, expect, it } from 'vitest';
import { parseRetrySchedule } from './config.ts';

describe('parseRetrySchedule', () => {
  it('reads offsets with units', () => {
    expect(parseRetrySchedule('1d,3d,5d')).toEqual([86_400_000, 3 * 86_400_000, 5 * 86_400_000]);
    expect(parseRetrySchedule(' 10s, 2m ,1h')).toEqual([10_000, 120_000, 3_600_000]);
    expect(parseRetrySchedule('')).toEqual([]);
  });
  it('refuses bad or decreasing offsets', () => {
    expect(() => parseRetrySchedule('1w')).toThrow(/not a duration/);
    expect(() => parseRetrySchedule('3d,1d')).toThrow(/increase/);
  });
});
