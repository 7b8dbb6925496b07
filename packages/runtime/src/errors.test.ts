import { describe, expect, it } from 'vitest';
import { AppError, defineErrors } from './errors.ts';

describe('defineErrors', () => {
  const errors = defineErrors({
    thing_not_found: { status: 404, retryable: false, meaning: 'no such thing' },
    thing_busy: { status: 503, retryable: true, retryAfterSeconds: 5, meaning: 'the thing is busy' },
  });

  it('makes AppErrors with the declared status, retryability and Retry-After', () => {
    const e = errors.thing_not_found('thing t1 does not exist', { details: { id: 't1' } });
    expect(e).toBeInstanceOf(AppError);
    expect({ code: e.code, message: e.message, status: e.status, retryable: e.retryable, details: e.details }).toEqual({
      code: 'thing_not_found',
      message: 'thing t1 does not exist',
      status: 404,
      retryable: false,
      details: { id: 't1' },
    });
    expect(errors.thing_busy('busy').retryAfterSeconds).toBe(5);
    expect(errors.thing_busy('busy', { retryAfterSeconds: 9 }).retryAfterSeconds).toBe(9);
  });

  it('lists its declarations as `codes`, not among the factories', () => {
    expect(errors.codes).toEqual([
      { code: 'thing_not_found', status: 404, retryable: false, meaning: 'no such thing' },
      { code: 'thing_busy', status: 503, retryable: true, meaning: 'the thing is busy' },
    ]);
    expect(Object.keys(errors)).toEqual(['thing_not_found', 'thing_busy']);
  });

  it('refuses a code that is not snake_case', () => {
    expect(() => defineErrors({ NotFound: { status: 404, retryable: false, meaning: 'x' } })).toThrow(/snake_case/);
  });
});
