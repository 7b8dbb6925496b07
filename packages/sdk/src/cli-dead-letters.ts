/**
 * tally dead-letters list [--limit N] [--cursor C] [--state pending|replayed|all] [--json]
 * tally dead-letters replay <id> [--repair] [--json]
 *
 * Usage rows ClickHouse refused for their content, and inserting one again.
 */
import type { DeadLetterPage, DeadLetterView } from '@tally/contracts';
import { runCliCommand, type CliIo } from './cli-command.ts';

const USAGE = `usage: tally dead-letters list [--limit N] [--cursor C] [--state pending|replayed|all] [--json]
       tally dead-letters replay <id> [--repair] [--json]

  list     the usage rows ClickHouse refused, newest first
  replay   insert one again; --repair first replaces lone surrogates and NUL with U+FFFD`;

const STATES = new Set(['pending', 'replayed', 'all']);

export type DeadLettersCliIo = CliIo;

interface Options {
  command: 'list' | 'replay';
  id: string | undefined;
  limit: number | undefined;
  cursor: string | undefined;
  state: 'pending' | 'replayed' | 'all' | undefined;
  repair: boolean;
  json: boolean;
  apiKey: string;
  apiUrl: string;
}

function parse(argv: string[], env: NodeJS.ProcessEnv): Options | string {
  const [command, ...rest] = argv;
  if (command !== 'list' && command !== 'replay') return USAGE;
  const o: Partial<Options> & { command: 'list' | 'replay' } = { command, repair: false, json: false, apiKey: env.TALLY_API_KEY, apiUrl: env.TALLY_API_URL };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--limit' && command === 'list') o.limit = Number(rest[++i]);
    else if (a === '--cursor' && command === 'list') o.cursor = rest[++i];
    else if (a === '--state' && command === 'list') o.state = rest[++i] as Options['state'];
    else if (a === '--repair' && command === 'replay') o.repair = true;
    else if (a === '--json') o.json = true;
    else if (a === '--api-key') o.apiKey = rest[++i];
    else if (a === '--api-url') o.apiUrl = rest[++i];
    else if (command === 'replay' && !o.id && !a.startsWith('--')) o.id = a;
    else return `tally dead-letters: unexpected argument ${a}\n${USAGE}`;
  }
  if (command === 'replay' && !o.id) return USAGE;
  if (o.limit !== undefined && !(Number.isInteger(o.limit) && o.limit >= 1 && o.limit <= 100)) return 'tally dead-letters: --limit is a whole number from 1 to 100';
  if (o.state !== undefined && !STATES.has(o.state)) return 'tally dead-letters: --state is pending, replayed or all';
  if (!o.apiKey) return 'tally: set TALLY_API_KEY (or pass --api-key)';
  return { ...o, apiKey: o.apiKey, apiUrl: o.apiUrl ?? 'http://127.0.0.1:3000' } as Options;
}

/** One line per dead letter: id, when, pending or replayed, table, reason. */
export function deadLetterLine(d: DeadLetterView): string {
  const state = d.replayedAt ? `replayed ${d.replayedAt}` : `pending${d.attempts ? ` (${d.attempts} failed attempts)` : ''}`;
  return `${d.id}  ${d.createdAt}  ${d.table}  ${state}\n  ${d.reason}`;
}

export function formatPage(page: DeadLetterPage): string {
  if (page.deadLetters.length === 0) return 'no dead letters';
  const lines = page.deadLetters.map(deadLetterLine);
  if (page.hasMore) lines.push(`more: tally dead-letters list --cursor ${page.nextCursor}`);
  return lines.join('\n');
}

export async function deadLettersMain(argv: string[], env: NodeJS.ProcessEnv, io: DeadLettersCliIo): Promise<number> {
  return runCliCommand(parse(argv, env), io, async (tally, o) => {
    if (o.command === 'list') {
      const page = await tally.deadLetters({ limit: o.limit, cursor: o.cursor, state: o.state });
      io.out(o.json ? JSON.stringify(page, null, 2) : formatPage(page));
    } else {
      const result = await tally.replayDeadLetter(o.id!, { repair: o.repair });
      io.out(o.json ? JSON.stringify(result, null, 2) : `replayed ${result.deadLetter.id}${result.repaired ? ' (repaired)' : ''} into ${result.deadLetter.table}`);
    }
  });
}
