#!/usr/bin/env node
// The `tally` CLI. Installed from the package: the compiled dist/cli.js. In the Tally repository, where the
// sources sit next to bin/: src/cli.ts through tsx, so `npx tally` there never runs a stale build.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli.ts', import.meta.url);
let main;
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import(source.href));
} else {
  ({ main } = await import('../dist/cli.js'));
}
process.exitCode = await main();
