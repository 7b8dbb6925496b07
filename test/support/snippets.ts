import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * The runnable snippets of README.md and docs/**\/*.md, in document order:
 * every shell command of a ```sh/```bash block (continuation lines and
 * multi-line quoted bodies joined), each with the answer the docs show
 * for it (`# -> {…}` or `# {…}` right after it), and every ```ts block.
 */
export interface ShellStep {
  kind: 'sh';
  file: string;
  line: number;
  text: string;
  /** the JSON the docs show after the command, as written (… = anything) */
  expect?: string;
}
export interface TsStep {
  kind: 'ts';
  file: string;
  line: number;
  text: string;
}
/** a curl command or an @tally/sdk import in a block of another language (or none): not runnable as written */
export interface UnknownStep {
  kind: 'unknown';
  file: string;
  line: number;
  text: string;
}
export type Step = ShellStep | TsStep | UnknownStep;

export function markdownFiles(root: string): string[] {
  const docs = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? docs(join(dir, e.name)) : e.name.endsWith('.md') ? [join(dir, e.name)] : [],
    );
  return [join(root, 'README.md'), ...docs(join(root, 'docs')).sort()].map((f) => relative(root, f));
}

const EXPECTED = /^#\s*(?:[^{]*->\s*)?(\{.*\})\s*$/;

/** Splits one markdown text into steps; `file` only labels them. */
export function extractSteps(file: string, markdown: string): Step[] {
  const lines = markdown.split('\n');
  const steps: Step[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^\s*```(\S*)\s*$/.exec(lines[i]!);
    if (!fence) continue;
    const lang = fence[1]!;
    const indent = /^\s*/.exec(lines[i]!)![0].length;
    const start = i + 1; // the fence's line (1-based)
    const body: string[] = [];
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]!); i++) body.push(lines[i]!.slice(indent));
    if (!['sh', 'bash', 'ts', 'typescript'].includes(lang)) {
      // a diagram, SQL, JSON…; but a curl or SDK snippet under another label would escape the test
      if (body.some((l) => /^\s*(\$\s*)?curl\s/.test(l) || l.includes('@tally/sdk'))) steps.push({ kind: 'unknown', file, line: start, text: body.join('\n') });
      continue;
    }
    if (lang === 'ts' || lang === 'typescript') {
      steps.push({ kind: 'ts', file, line: start, text: body.join('\n') });
      continue;
    }
    for (let j = 0; j < body.length; j++) {
      const line = body[j]!;
      if (!line.trim()) continue;
      if (line.trimStart().startsWith('#')) {
        const shown = EXPECTED.exec(line.trim());
        const last = steps.at(-1);
        if (shown && last?.kind === 'sh' && last.file === file && last.expect === undefined) last.expect = shown[1];
        continue;
      }
      // a command goes on while a line ends with `\` or a single-quoted string is still open
      let text = line;
      const lineNo = start + j + 1;
      while (j + 1 < body.length && (text.endsWith('\\') || (text.split("'").length - 1) % 2 === 1)) text += '\n' + body[++j];
      steps.push({ kind: 'sh', file, line: lineNo, text });
    }
  }
  return steps;
}

export function extractAll(root: string): Map<string, Step[]> {
  const out = new Map<string, Step[]>();
  for (const file of markdownFiles(root)) {
    const steps = extractSteps(file, readFileSync(join(root, file), 'utf8'));
    if (steps.length) out.set(file, steps);
  }
  return out;
}

/**
 * The docs' answer as a shape: `…` outside a string is any value, a trailing
 * `,…` in an object or array means "and more". Returns the parsed template.
 */
export function parseShown(shown: string): unknown {
  let out = '';
  let inString = false;
  for (let i = 0; i < shown.length; i++) {
    const c = shown[i]!;
    if (inString) {
      out += c;
      if (c === '\\') out += shown[++i] ?? '';
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else out += c === '…' ? ANY_JSON : c;
  }
  out = out.replaceAll(`,${ANY_JSON}}`, '}').replaceAll(`,${ANY_JSON}]`, ']');
  return JSON.parse(out, (_k, v) => (v === ANY ? ANY_VALUE : v));
}
const ANY = '\u0000any';
const ANY_JSON = JSON.stringify(ANY);
/** a value the docs elide (`…`): anything matches */
export const ANY_VALUE = Symbol('any');

/** Every key the docs show, present in `actual` with the same JSON type (recursively); the mismatches. */
export function shapeMismatches(shown: unknown, actual: unknown, path = '$'): string[] {
  if (shown === ANY_VALUE) return [];
  const type = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  if (type(shown) !== type(actual)) return [`${path}: docs show ${type(shown)}, answer has ${type(actual)} (${JSON.stringify(actual)})`];
  if (Array.isArray(shown)) {
    const a = actual as unknown[];
    // an element shape is checked against the answer's first element when both have one
    return shown.length && a.length ? shapeMismatches(shown[0], a[0], `${path}[0]`) : [];
  }
  if (shown && typeof shown === 'object') {
    const a = actual as Record<string, unknown>;
    return Object.entries(shown).flatMap(([k, v]) =>
      k in a ? shapeMismatches(v, a[k], `${path}.${k}`) : [`${path}.${k}: shown in the docs, missing from the answer`],
    );
  }
  return [];
}
