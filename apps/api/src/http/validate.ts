import type { z } from 'zod';
import { findUnstorableText } from '@tally/contracts';
import { ValidationError } from '@tally/runtime';

/** Parses `input` with `schema`; a failure becomes a 400 naming each field path. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, where = 'body'): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    path: issue.path.length ? issue.path.join('.') : where,
    message: issue.message,
  }));
  const first = issues[0];
  throw new ValidationError(first ? `${first.path}: ${first.message}` : `invalid ${where}`, issues);
}

/**
 * Path parameters and query strings of every route hold only storable text
 * (no NUL, no lone surrogate: @tally/contracts text.ts); bodies are checked by their schemas.
 */
export function assertStorableText(input: unknown, where: string): void {
  const found = findUnstorableText(input);
  if (!found) return;
  const path = found.path.length ? found.path.join('.') : where;
  throw new ValidationError(`${path}: ${found.message}`, [{ path, message: found.message }]);
}
