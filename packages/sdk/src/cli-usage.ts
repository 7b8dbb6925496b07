/**
 * tally usage repair --from YYYY-MM-DD --to YYYY-MM-DD [--tenant ID] [--json]
 *
 * Recomputes the tenant's hourly and daily rollups over whole UTC days
 * [from, to) from the raw events (POST /v1/usage/repair). With --tenant, the
 * deployment's operator repairs any tenant with TALLY_ADMIN_TOKEN
 * (POST /admin/tenants/:id/usage/repair).
 */
import { runCliCommand, type CliIo } from './cli-command.ts';

const USAGE = `usage: tally usage repair --from YYYY-MM-DD --to YYYY-MM-DD [--tenant ID] [--json]

  repair   recompute the rollups of the UTC days [from, to) from the raw events (to is exclusive)
           of the key's tenant, or with --tenant of that tenant (TALLY_ADMIN_TOKEN: the API's ADMIN_TOKEN)`;

interface Options {
  from: string;
  to: string;
  tenant?: string;
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
    else if (a === '--tenant') o.tenant = rest[++i];
    else if (a === '--json') o.json = true;
    else if (a === '--api-key') o.apiKey = rest[++i];
    else if (a === '--api-url') o.apiUrl = rest[++i];
    else return `tally usage: unexpected argument ${a}\n${USAGE}`;
  }
  if (!o.from || !o.to || o.tenant === '') return USAGE;
  if (o.tenant !== undefined) {
    if (!env.TALLY_ADMIN_TOKEN) return 'tally: --tenant needs TALLY_ADMIN_TOKEN (the API\'s ADMIN_TOKEN)';
    o.apiKey = env.TALLY_ADMIN_TOKEN;
  }
  if (!o.apiKey) return 'tally: set TALLY_API_KEY (or pass --api-key)';
  return { ...o, apiUrl: o.apiUrl ?? 'http://127.0.0.1:3000' } as Options;
}

export async function usageMain(argv: string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  return runCliCommand(parse(argv, env), io, async (tally, o) => {
    const range = { from: o.from, to: o.to };
    const result = o.tenant === undefined ? await tally.repairRollups(range) : await tally.repairTenantRollups(o.tenant, range);
    io.out(o.json ? JSON.stringify(result, null, 2) : `rollups ${result.from} .. ${result.to} (exclusive): ${result.corrected} keys corrected`);
  });
}
