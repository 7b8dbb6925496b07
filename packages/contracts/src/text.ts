import type { z } from 'zod';

/**
 * Text Tally can store unchanged everywhere: Postgres refuses NUL in text and
 * jsonb, and a lone UTF-16 surrogate has no UTF-8 form (drivers would
 * silently turn it into U+FFFD). Such input is refused at the door, naming
 * the field, instead of failing (or changing) somewhere downstream.
 */
export type TextPath = (string | number)[];

const wellFormed = (s: string): boolean => (s as string & { isWellFormed(): boolean }).isWellFormed();

/** Why `s` cannot be stored, or null when it can. */
export function textProblem(s: string): string | null {
  if (s.includes('\u0000')) return 'must not contain a NUL byte (\\u0000)';
  if (!wellFormed(s)) return 'must not contain a lone UTF-16 surrogate';
  return null;
}

export interface UnstorableText {
  path: TextPath;
  message: string;
}

function keyProblem(key: string): string | null {
  const problem = textProblem(key);
  return problem && `a property name ${problem}`;
}

/**
 * The first string (object key or value, at any depth) in `value` that
 * cannot be stored, with its path. Iterative: a deeply nested body cannot
 * exhaust the stack.
 */
export function findUnstorableText(value: unknown, base: TextPath = []): UnstorableText | null {
  const stack: [unknown, TextPath][] = [[value, base]];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      const message = textProblem(v);
      if (message) return { path, message };
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], [...path, i]]);
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>);
      for (const [key] of entries) {
        const message = keyProblem(key);
        // the bad name itself, JSON-escaped: the path must be storable too (import rejections are)
        if (message) return { path: [...path, JSON.stringify(key)], message };
      }
      for (let i = entries.length - 1; i >= 0; i--) stack.push([entries[i]![1], [...path, entries[i]![0]]]);
    }
  }
  return null;
}

/** zod refinement: adds one issue at the first unstorable string's path. */
export function refineStorableText(value: unknown, ctx: z.RefinementCtx): void {
  const found = findUnstorableText(value);
  if (found) ctx.addIssue({ code: 'custom', path: found.path, message: found.message });
}

/** `schema` with every string in its (parsed) output checked by `findUnstorableText`. */
export const storable = <T extends z.ZodType>(schema: T): T => schema.superRefine(refineStorableText) as T;
