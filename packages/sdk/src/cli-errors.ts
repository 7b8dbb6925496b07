import { TallyError } from './errors.ts';

/** How a CLI command reports a failed call: the API's code and message, then each field issue; exit code 1. */
export function reportCliError(e: unknown, err: (line: string) => void): number {
  if (e instanceof TallyError) {
    err(`tally: ${e.code}: ${e.message}`);
    for (const issue of e.issues) err(`  ${issue.path}: ${issue.message}`);
  } else {
    err(`tally: ${(e as Error).message}`);
  }
  return 1;
}
