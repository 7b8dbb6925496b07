import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * Debian's chromium (deploy/local/dashboard.sh --browser installs it) driven by playwright-core:
 * Playwright's own browser download cannot work on these machines.
 */
export const CHROMIUM = '/usr/bin/chromium';
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SCREENSHOTS = join(ROOT, 'docs', 'screenshots');

/** Waits for visible state: generous, since the machine is small and shared; never a fixed sleep. */
export const UI_TIMEOUT = 60_000;

/**
 * The API serves apps/dashboard/dist, looked up at each request: build it here when missing or stale, so a
 * targeted `vitest run test/dashboard-…` works as well as `npm test` (which has built it already).
 */
export function ensureDashboardBuilt(): void {
  // output piped: it is in the thrown error when the build fails
  execFileSync('bash', [join(ROOT, 'deploy', 'local', 'dashboard.sh')], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
}

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run bash deploy/local/dashboard.sh --browser (npm test does)`);
  ensureDashboardBuilt();
  // --no-sandbox: the suite runs as root in CI, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }

/**
 * axe-core on the page as it is now: the serious and critical violations, described (empty = none).
 * The dashboard's CSP (script-src 'self') refuses an inline <script> — page.addScriptTag is blocked, as it
 * should be — so axe is evaluated through the DevTools protocol instead, which CSP does not govern; the
 * page keeps its real CSP for everything else the test does.
 */
export async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations;
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')}`);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
