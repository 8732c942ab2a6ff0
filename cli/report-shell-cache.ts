/**
 * The report shell for `sparsebook report`, built at most once per source change: the app build's
 * `dist/report-shell.html` when it is newer than every source file, else a copy built here (a vite
 * build, about 10 s) and kept in `node_modules/.cache/sparsebook/`, reused under the same rule.
 */
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** What goes into the shell: a change to any of these makes a kept shell stale. */
const SOURCES = ['app', 'workers', 'runtime', 'kernels', 'analyses', 'package.json'];

export interface ShellOptions {
  /** Repository root (default: this checkout). */
  root?: string;
  /** Build the shell (default: scripts/report-shell.ts; injectable for tests). */
  build?: () => Promise<string>;
}

export interface Shell {
  html: string;
  /** Where it came from: the app build, this module's cache, or a fresh build. */
  from: 'dist' | 'cache' | 'built';
  file: string;
}

/** The cache file a built shell is written to. */
export function shellCacheFile(root: string = repoRoot): string {
  return path.join(root, 'node_modules/.cache/sparsebook/report-shell.html');
}

/**
 * @example
 * const { html, from } = await reportShell(); // from: 'cache' on the second run
 */
export async function reportShell(options: ShellOptions = {}): Promise<Shell> {
  const root = options.root ?? repoRoot;
  const newest = await newestMtime(SOURCES.map((s) => path.join(root, s)));
  const dist = path.join(root, 'dist/report-shell.html');
  const cache = shellCacheFile(root);
  for (const [file, from] of [
    [dist, 'dist'],
    [cache, 'cache'],
  ] as const) {
    const m = await mtime(file);
    if (m !== undefined && m > newest) return { html: await readFile(file, 'utf8'), from, file };
  }
  const build = options.build ?? productionBuild;
  const html = await build();
  await mkdir(path.dirname(cache), { recursive: true });
  // Written whole then renamed: a concurrent run never reads half a shell.
  const tmp = `${cache}.${process.pid}.tmp`;
  await writeFile(tmp, html);
  await rename(tmp, cache);
  return { html, from: 'built', file: cache };
}

/**
 * scripts/report-shell.ts under NODE_ENV=production: vite and the Svelte plugin follow NODE_ENV
 * when it is set, and a shell built under vitest (NODE_ENV=test) would be a dev build (larger,
 * with dev-only checks) that every later CLI run then reuses.
 */
async function productionBuild(): Promise<string> {
  const { buildReportShell } = await import('../scripts/report-shell');
  const before = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    return await buildReportShell();
  } finally {
    if (before === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = before;
  }
}

async function mtime(file: string): Promise<number | undefined> {
  return stat(file).then(
    (s) => s.mtimeMs,
    () => undefined,
  );
}

/** Latest modification time of the files (and, recursively, the folders' files) given. */
async function newestMtime(paths: readonly string[]): Promise<number> {
  let newest = 0;
  const visit = async (p: string): Promise<void> => {
    const s = await stat(p).catch(() => undefined);
    if (!s) return;
    if (!s.isDirectory()) {
      newest = Math.max(newest, s.mtimeMs);
      return;
    }
    const entries = await readdir(p, { withFileTypes: true });
    await Promise.all(
      entries.filter((e) => e.name !== 'node_modules').map((e) => visit(path.join(p, e.name))),
    );
  };
  await Promise.all(paths.map(visit));
  return newest;
}
