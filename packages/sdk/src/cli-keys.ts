/**
 * tally keys list [--all] [--json]
 * tally keys create [--name NAME] [--json]
 * tally keys revoke <id> [--json]
 * tally keys rotate <id> [--overlap SECONDS] [--json]
 *
 * The calling tenant's secret keys. Rotate gives a new key and lets the old
 * one work for the overlap window (default an hour) while apps switch.
 */
import type { ApiKeyView } from '@tally/contracts';
import { runCliCommand, type CliIo } from './cli-command.ts';

const USAGE = `usage: tally keys list [--all] [--json]
       tally keys create [--name NAME] [--json]
       tally keys revoke <id> [--json]
       tally keys rotate <id> [--overlap SECONDS] [--json]

  list     this tenant's keys, newest first (id, prefix, environment, created, revoked); never a secret;
           the first 100, or every page with --all
  create   a new key; its secret is printed once
  revoke   refuse a key on every API process at once (not the key making the call)
  rotate   a new key (secret printed once); the old one works for --overlap seconds more (default 3600, 0 = now)`;

export type KeysCliIo = CliIo;

interface Options {
  command: 'list' | 'create' | 'revoke' | 'rotate';
  id: string | undefined;
  overlap: number | undefined;
  name: string | undefined;
  all: boolean;
  json: boolean;
  apiKey: string;
  apiUrl: string;
}

function parse(argv: string[], env: NodeJS.ProcessEnv): Options | string {
  const [command, ...rest] = argv;
  if (command !== 'list' && command !== 'create' && command !== 'revoke' && command !== 'rotate') return USAGE;
  const o: Partial<Options> & { command: Options['command'] } = { command, all: false, json: false, apiKey: env.TALLY_API_KEY, apiUrl: env.TALLY_API_URL };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--name' && command === 'create') o.name = rest[++i];
    else if (a === '--overlap' && command === 'rotate') o.overlap = Number(rest[++i]);
    else if (a === '--all' && command === 'list') o.all = true;
    else if (a === '--json') o.json = true;
    else if (a === '--api-key') o.apiKey = rest[++i];
    else if (a === '--api-url') o.apiUrl = rest[++i];
    else if ((command === 'revoke' || command === 'rotate') && !o.id && !a.startsWith('--')) o.id = a;
    else return `tally keys: unexpected argument ${a}\n${USAGE}`;
  }
  if ((command === 'revoke' || command === 'rotate') && !o.id) return USAGE;
  if (o.overlap !== undefined && !(Number.isInteger(o.overlap) && o.overlap >= 0 && o.overlap <= 604_800)) return 'tally keys: --overlap is whole seconds from 0 to 604800 (7 days)';
  if (command === 'create' && o.name !== undefined && !o.name.trim()) return 'tally keys: --name needs a value';
  if (!o.apiKey) return 'tally: set TALLY_API_KEY (or pass --api-key)';
  return { ...o, apiKey: o.apiKey, apiUrl: o.apiUrl ?? 'http://127.0.0.1:3000' } as Options;
}

/** One line per key: id, prefix, environment, created, and revoked or active (the calling key marked). */
export function keyLine(k: ApiKeyView): string {
  const state = k.revokedAt ? `revoked ${k.revokedAt}` : k.expiresAt ? `expires ${k.expiresAt}` : 'active';
  return `${k.id}  ${k.prefix}…  ${k.environment}  created ${k.createdAt}  ${state}${k.current ? '  (this key)' : ''}  ${k.name}`;
}

export async function keysMain(argv: string[], env: NodeJS.ProcessEnv, io: KeysCliIo): Promise<number> {
  return runCliCommand(parse(argv, env), io, async (tally, o) => {
    if (o.command === 'list') {
      const keys: ApiKeyView[] = [];
      let page = await tally.apiKeys();
      keys.push(...page.data);
      while (o.all && page.nextCursor) {
        page = await tally.apiKeys({ cursor: page.nextCursor });
        keys.push(...page.data);
      }
      const more = !o.all && page.hasMore ? page.nextCursor : null;
      if (o.json) io.out(JSON.stringify({ success: true, data: keys, hasMore: !!more, nextCursor: more, apiKeys: keys }, null, 2));
      else {
        io.out(keys.map(keyLine).join('\n') || 'no keys');
        if (more) io.out('more keys: tally keys list --all');
      }
    } else if (o.command === 'create') {
      const created = await tally.createApiKey({ name: o.name });
      if (o.json) io.out(JSON.stringify(created, null, 2));
      else {
        io.out(keyLine(created.apiKey));
        io.out(`secret (shown once, store it now): ${created.apiKey.secret}`);
      }
    } else if (o.command === 'rotate') {
      const r = await tally.rotateApiKey(o.id!, { overlapSeconds: o.overlap });
      if (o.json) io.out(JSON.stringify(r, null, 2));
      else {
        io.out(`old: ${keyLine(r.rotated)}`);
        io.out(`new: ${keyLine(r.apiKey)}`);
        io.out(`secret (shown once, store it now): ${r.apiKey.secret}`);
      }
    } else {
      const revoked = await tally.revokeApiKey(o.id!);
      io.out(o.json ? JSON.stringify(revoked, null, 2) : `revoked ${revoked.apiKey.id} (${revoked.apiKey.prefix}…) at ${revoked.apiKey.revokedAt}`);
    }
  });
}
