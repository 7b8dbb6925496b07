/**
 * tally sync ./billing.config.ts   push the catalog the file exports
 * tally diff ./billing.config.ts   show what sync would change (dry run)
 * tally dead-letters list|replay   usage rows ClickHouse refused (cli-dead-letters.ts)
 * tally keys list|create|revoke|rotate  the tenant's API keys (cli-keys.ts)
 * tally usage repair               recompute rollups from raw events (cli-usage.ts)
 * tally customers list|show, tally purchases list|refund  (cli-accounts.ts)
 *
 * Credentials: --api-key / --api-url, or TALLY_API_KEY / TALLY_API_URL.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import type { SyncResult } from '@tally/contracts';
import { Tally } from './client.ts';
import { buildSyncBody } from './collect.ts';
import { reportCliError } from './cli-command.ts';
import { importMain } from './cli-import.ts';
import { deadLettersMain } from './cli-dead-letters.ts';
import { keysMain } from './cli-keys.ts';
import { usageMain } from './cli-usage.ts';
import { accountsMain } from './cli-accounts.ts';

const USAGE = `usage: tally <sync|diff> <config file> [--api-key KEY] [--api-url URL] [--json]
       tally import <file.ndjson|file.csv[.gz]> [--mode report|apply]
       tally dead-letters list [--limit N] [--cursor C] [--state pending|replayed|all]
       tally dead-letters replay <id> [--repair]
       tally keys list | create [--name NAME] | revoke <id> | rotate <id> [--overlap S]
       tally usage repair --from YYYY-MM-DD --to YYYY-MM-DD
       tally customers list [--search S] [--all] | show <id>
       tally purchases list [--customer C] [--status S] [--all] | refund <reference>

  sync   push the catalog exported by the config file to Tally
  diff   show what sync would change, changing nothing

Environment: TALLY_API_KEY, TALLY_API_URL (default http://127.0.0.1:3000)`;

interface Args {
  command: string | undefined;
  file: string | undefined;
  apiKey: string | undefined;
  apiUrl: string | undefined;
  json: boolean;
}

function parseArgs(argv: string[], env: NodeJS.ProcessEnv): Args {
  const args: Args = { command: undefined, file: undefined, apiKey: env.TALLY_API_KEY, apiUrl: env.TALLY_API_URL, json: false };
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i]!;
    if (a === '--api-key') args.apiKey = argv[++i];
    else if (a === '--api-url') args.apiUrl = argv[++i];
    else if (a === '--json') args.json = true;
    else positional.push(a);
  }
  [args.command, args.file] = positional;
  return args;
}

/** Loads a config file (TypeScript or JavaScript) and returns everything it exports. */
export async function loadConfig(file: string): Promise<unknown> {
  const absolute = path.resolve(file);
  const mod = (await tsImport(pathToFileURL(absolute).href, import.meta.url)) as Record<string, unknown>;
  return mod;
}

export function formatReport(result: SyncResult): string {
  const lines: string[] = [];
  const sections = [['features', result.features], ['credit systems', result.creditSystems], ['credit packs', result.creditPacks], ['plans', result.plans]] as const;
  for (const [name, s] of sections) {
    const parts = [
      s.created.length && `created ${s.created.join(', ')}`,
      s.updated.length && `updated ${s.updated.join(', ')}`,
      s.removed.length && `removed ${s.removed.join(', ')}`,
      s.unchanged.length && `unchanged ${s.unchanged.length}`,
    ].filter(Boolean);
    lines.push(`${name.padEnd(15)} ${parts.join('; ') || 'none'}`);
  }
  for (const w of result.warnings) lines.push(`warning: ${w}`);
  lines.push(result.dryRun ? 'dry run: nothing was changed' : `catalog version ${result.version}`);
  return lines.join('\n');
}

export async function main(argv = process.argv.slice(2), env = process.env, out = console.log, err = console.error): Promise<number> {
  if (argv[0] === 'import') {
    return importMain(argv.slice(1), env, { out, err, progress: process.stderr.isTTY ? (line) => process.stderr.write(`\r${line}\x1b[K`) : undefined });
  }
  if (argv[0] === 'dead-letters') return deadLettersMain(argv.slice(1), env, { out, err });
  if (argv[0] === 'keys') return keysMain(argv.slice(1), env, { out, err });
  if (argv[0] === 'usage') return usageMain(argv.slice(1), env, { out, err });
  if (argv[0] === 'customers' || argv[0] === 'purchases') return accountsMain(argv[0], argv.slice(1), env, { out, err });
  const args = parseArgs(argv, env);
  if ((args.command !== 'sync' && args.command !== 'diff') || !args.file) {
    err(USAGE);
    return 2;
  }
  if (!args.apiKey) {
    err('tally: set TALLY_API_KEY (or pass --api-key)');
    return 2;
  }
  try {
    const body = buildSyncBody(await loadConfig(args.file));
    const tally = new Tally({ apiKey: args.apiKey, apiUrl: args.apiUrl ?? 'http://127.0.0.1:3000' });
    const result = await tally.sync(body, { dryRun: args.command === 'diff' });
    out(args.json ? JSON.stringify(result, null, 2) : formatReport(result));
    return 0;
  } catch (e) {
    reportCliError(e, err);
    return 1;
  }
}
