/**
 * tally keys list [--json]
 * tally keys create [--name NAME] [--json]
 * tally keys revoke <id> [--json]
 *
 * The calling tenant's secret keys. To rotate: create a key, switch your apps
 * to it, then revoke the old one (with the new key: a key cannot revoke itself).
 */
import type { ApiKeyView } from '@tally/contracts';
import { runCliCommand, type CliIo } from './cli-command.ts';

const USAGE = `usage: tally keys list [--json]
       tally keys create [--name NAME] [--json]
       tally keys revoke <id> [--json]

  list     this tenant's keys (id, prefix, environment, created, revoked); never a secret
  create   a new key; its secret is printed once
  revoke   refuse a key on every API process at once (not the key making the call)`;

export type KeysCliIo = CliIo;

interface Options {
  command: 'list' | 'create' | 'revoke';
  id: string | undefined;
  name: string | undefined;
  json: boolean;
  apiKey: string;
  apiUrl: string;
}

function parse(argv: string[], env: NodeJS.ProcessEnv): Options | string {
  const [command, ...rest] = argv;
  if (command !== 'list' && command !== 'create' && command !== 'revoke') return USAGE;
  const o: Partial<Options> & { command: Options['command'] } = { command, json: false, apiKey: env.TALLY_API_KEY, apiUrl: env.TALLY_API_URL };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--name' && command === 'create') o.name = rest[++i];
    else if (a === '--json') o.json = true;
    else if (a === '--api-key') o.apiKey = rest[++i];
    else if (a === '--api-url') o.apiUrl = rest[++i];
    else if (command === 'revoke' && !o.id && !a.startsWith('--')) o.id = a;
    else return `tally keys: unexpected argument ${a}\n${USAGE}`;
  }
  if (command === 'revoke' && !o.id) return USAGE;
  if (command === 'create' && o.name !== undefined && !o.name.trim()) return 'tally keys: --name needs a value';
  if (!o.apiKey) return 'tally: set TALLY_API_KEY (or pass --api-key)';
  return { ...o, apiKey: o.apiKey, apiUrl: o.apiUrl ?? 'http://127.0.0.1:3000' } as Options;
}

/** One line per key: id, prefix, environment, created, and revoked or active (the calling key marked). */
export function keyLine(k: ApiKeyView): string {
  const state = k.revokedAt ? `revoked ${k.revokedAt}` : 'active';
  return `${k.id}  ${k.prefix}…  ${k.environment}  created ${k.createdAt}  ${state}${k.current ? '  (this key)' : ''}  ${k.name}`;
}

export async function keysMain(argv: string[], env: NodeJS.ProcessEnv, io: KeysCliIo): Promise<number> {
  return runCliCommand(parse(argv, env), io, async (tally, o) => {
    if (o.command === 'list') {
      const list = await tally.apiKeys();
      io.out(o.json ? JSON.stringify(list, null, 2) : list.apiKeys.map(keyLine).join('\n') || 'no keys');
    } else if (o.command === 'create') {
      const created = await tally.createApiKey({ name: o.name });
      if (o.json) io.out(JSON.stringify(created, null, 2));
      else {
        io.out(keyLine(created.apiKey));
        io.out(`secret (shown once, store it now): ${created.apiKey.secret}`);
      }
    } else {
      const revoked = await tally.revokeApiKey(o.id!);
      io.out(o.json ? JSON.stringify(revoked, null, 2) : `revoked ${revoked.apiKey.id} (${revoked.apiKey.prefix}…) at ${revoked.apiKey.revokedAt}`);
    }
  });
}
