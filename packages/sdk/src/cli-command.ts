import { Tally } from './client.ts';
import { TallyError } from './errors.ts';

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** How a CLI command reports a failed call: the API's code and message, then each field issue. */
export function reportCliError(e: unknown, err: (line: string) => void): void {
  if (e instanceof TallyError) {
    err(`tally: ${e.code}: ${e.message}`);
    for (const issue of e.issues) err(`  ${issue.path}: ${issue.message}`);
  } else {
    err(`tally: ${(e as Error).message}`);
  }
}

/**
 * Runs a parsed CLI command against the API. Exit codes: 0 done, 1 the call
 * failed (reported), 2 bad arguments (`parsed` is then the usage message).
 */
export async function runCliCommand<O extends { apiKey: string; apiUrl: string }>(
  parsed: O | string,
  io: CliIo,
  run: (tally: Tally, o: O) => Promise<void>,
): Promise<number> {
  if (typeof parsed === 'string') {
    io.err(parsed);
    return 2;
  }
  try {
    await run(new Tally({ apiKey: parsed.apiKey, apiUrl: parsed.apiUrl }), parsed);
    return 0;
  } catch (e) {
    reportCliError(e, (line) => io.err(line));
    return 1;
  }
}
