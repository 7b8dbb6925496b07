import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The SDK as a user gets it: `npm pack`, installed into an empty folder outside the repository, used from
// plain node (no tsx loader, no source condition), its CLI run, its types checked by tsc.
const run = promisify(execFile);
const sdkDir = fileURLToPath(new URL('..', import.meta.url));
const repoRoot = path.resolve(sdkDir, '../..');
const tsc = path.join(repoRoot, 'node_modules/typescript/bin/tsc');

interface Seen { method: string; url: string; authorization: string | undefined; body: unknown }

const checkAnswer = { allowed: true, code: 'access_granted', usage: 2, limit: 10, balance: 8, resetsAt: null, resetInterval: null, credits: null, details: { message: 'allowed' } };
const syncAnswer = {
  success: true, dryRun: true, version: 1, warnings: [],
  features: { created: ['gpt-4'], updated: [], unchanged: [], removed: [] },
  creditSystems: { created: [], updated: [], unchanged: [], removed: [] },
  creditPacks: { created: [], updated: [], unchanged: [], removed: [] },
  plans: { created: [], updated: [], unchanged: [], removed: [] },
};

async function bodyOf(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

describe('the packed SDK', () => {
  let consumer: string;
  let packDir: string;
  let tarball: string;
  let packedFiles: string[];
  let server: Server;
  let apiUrl: string;
  const seen: Seen[] = [];
  // outside the repository: no .npmrc, no NODE_OPTIONS source condition, nothing of the workspace
  const env = { ...process.env, NODE_OPTIONS: '', npm_config_node_options: '' };

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const body = await bodyOf(req);
      seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, body });
      const answer = req.url?.startsWith('/v1/sync') ? syncAnswer : checkAnswer;
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(answer));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    packDir = await mkdtemp(path.join(tmpdir(), 'tally-sdk-pack-'));
    consumer = await mkdtemp(path.join(tmpdir(), 'tally-sdk-consumer-'));
    // prepack builds the SDK (and what it is built from) through nx
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', packDir], { cwd: sdkDir, maxBuffer: 1 << 24 });
    // stdout: nx's build log, then the JSON report (an array on lines of its own)
    const [packed] = JSON.parse(stdout.slice(stdout.search(/^\[\s*$/m))) as { filename: string; files: { path: string }[] }[];
    tarball = path.join(packDir, packed!.filename);
    packedFiles = packed!.files.map((f) => f.path);

    await writeFile(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: consumer, env });
  }, 240_000);

  afterAll(async () => {
    server?.close();
    if (consumer) await rm(consumer, { recursive: true, force: true });
    if (packDir) await rm(packDir, { recursive: true, force: true });
  });

  it('ships only its build, with a manifest naming no private workspace package', async () => {
    expect(packedFiles.filter((f) => !/^(package\.json|README\.md|bin\/tally\.mjs|dist\/[\w-]+\.(js|d\.ts))$/.test(f))).toEqual([]);
    expect(packedFiles).toEqual(expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'dist/contracts.d.ts', 'bin/tally.mjs']));
    const manifest = JSON.parse(await readFile(path.join(consumer, 'node_modules/@tally/sdk/package.json'), 'utf8'));
    expect(manifest.private).toBeUndefined();
    const declared = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'].flatMap((k) => Object.keys(manifest[k] ?? {}));
    expect(declared.filter((d) => d.startsWith('@tally/'))).toEqual([]);
    expect(manifest.exports['.']).toMatchObject({ types: './dist/index.d.ts', default: './dist/index.js' });
    expect(manifest.bin).toEqual({ tally: './bin/tally.mjs' });
    const dist = path.join(consumer, 'node_modules/@tally/sdk/dist');
    for (const f of await readdir(dist)) {
      const text = await readFile(path.join(dist, f), 'utf8');
      expect(text, f).not.toMatch(/@tally\/(?!sdk)|from ['"]zod['"]|\.ts['"]/);
    }
  });

  it('runs under plain node: the client sends the request the API expects', async () => {
    await writeFile(path.join(consumer, 'client.mjs'), `import { Tally } from '@tally/sdk';
const tally = new Tally({ apiKey: 'sk_test_pack', apiUrl: process.argv[2], retries: 0 });
console.log(JSON.stringify(await tally.check({ customer: 'c-1', feature: 'gpt-4', value: 2 })));
`);
    seen.length = 0;
    const { stdout } = await run(process.execPath, ['client.mjs', apiUrl], { cwd: consumer, env });
    expect(JSON.parse(stdout)).toEqual(checkAnswer);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/v1/check', authorization: 'Bearer sk_test_pack' });
    expect(seen[0]!.body).toMatchObject({ customer: 'c-1', feature: 'gpt-4', value: 2 });
  });

  it('its `tally` bin loads a TypeScript config and diffs it', async () => {
    await writeFile(path.join(consumer, 'billing.config.ts'), `import { metered } from '@tally/sdk';
export const gpt4 = metered('gpt-4', { name: 'GPT-4' });
`);
    seen.length = 0;
    const { stdout } = await run(path.join(consumer, 'node_modules/.bin/tally'), ['diff', './billing.config.ts', '--api-key', 'sk_test_pack', '--api-url', apiUrl], { cwd: consumer, env });
    expect(stdout).toContain('dry run: nothing was changed');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/v1/sync?dryRun=true', authorization: 'Bearer sk_test_pack' });
    expect(seen[0]!.body).toMatchObject({ features: [expect.objectContaining({ slug: 'gpt-4' })] });
  }, 60_000);

  it('its declarations type a consumer (wrong uses are errors, so nothing is any)', async () => {
    await writeFile(path.join(consumer, 'consumer.ts'), `import { Tally, TallyError, metered, type TallyOptions } from '@tally/sdk';
const options: TallyOptions = { apiKey: 'sk_test_pack', apiUrl: 'http://127.0.0.1:1' };
const tally = new Tally(options);
export async function go(): Promise<boolean> {
  const answer = await tally.check({ customer: 'c-1', feature: 'gpt-4', value: 1 });
  const used: number | null = answer.usage;
  // @ts-expect-error allowed is a boolean
  const wrong: string = answer.allowed;
  // @ts-expect-error feature is required
  await tally.check({ customer: 'c-1', value: 1 });
  const page = await tally.deadLetters({ limit: 5 });
  void [used, wrong, page.hasMore, metered('gpt-4'), TallyError];
  return answer.allowed;
}
`);
    await writeFile(path.join(consumer, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        strict: true, noEmit: true, skipLibCheck: false, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext',
        types: ['node'], typeRoots: [path.join(repoRoot, 'node_modules/@types')],
      },
      files: ['consumer.ts'],
    }));
    const out = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: consumer, env }).catch((e: { stdout: string }) => e);
    expect(out.stdout).toBe('');
  }, 120_000);
});
