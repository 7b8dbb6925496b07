/**
 * tally usage repair --from YYYY-MM-DD --to YYYY-MM-DD [--json]
 *
 * Recomputes the tenant's hourly and daily rollups over whole UTC days
 * [from, to) from the raw events (POST /v1/usage/repair).
 */
import { runCliCommand, type CliIo } from './cli-command.ts';

const USAGE = `usage: tally usage repair --from YYYY-MM-DD --to YYYY-MM-DD [--json]

  repair   recompute the rollups of the UTC days [from, to) from the raw events (to is exclusive)`;

interface Options {
  from: string;
  to: string;
  json: boolean;
  apiKey: string;
  apiUrl: string;
}

function parse(argv: string[], env: NodeJS.ProcessEnv): Options | string {
  const [command, ...rest] = argv;
  if (command !== 'repair') return USAGE;
  const o: Partial<Options> = { json: false, apiKey: env.TALLY_API_KEY, apiUrl: env.TALLY_API_URL };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--from') o.from = rest[++i];
    else if (a === '--to') o.to = rest[++i];
    else if (a === '--json') o.json = true;
    else if (a === '--api-key') o.apiKey = rest[++i];
    else if (a === '--api-url') o.apiUrl = rest[++i];
    else return `tally usage: unexpected argument ${a}\n${USAGE}`;
  }
  if (!o.from || !o.to) return USAGE;
  if (!o.apiKey) return 'tally: set TALLY_API_KEY (or pass --api-key)';
  return { ...o, apiUrl: o.apiUrl ?? 'http://127.0.0.1:3000' } as Options;
}

export async function usageMain(argv: string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  return runCliCommand(parse(argv, env), io, async (tally, o) => {
    const result = await tally.repairRollups({ from: o.from, to: o.to });
    io.out(o.json ? JSON.stringify(result, null, 2) : `rollups ${result.from} .. ${result.to} (exclusive): ${result.corrected} keys corrected`);
  });
}
