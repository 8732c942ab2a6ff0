/**
 * The CLI compiled ahead of time (scripts/cli-build.mjs): `--help` lists every command without the
 * runtime in its import graph, a bundle whose inputs changed is never used, and the help summaries
 * are the commands' own USAGE first lines.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error — a plain .mjs build script without type declarations
import { ensureCliBuild, freshCliEntry } from '../../scripts/cli-build.mjs';
import { COMMANDS } from '../../cli/command-table';

const root = path.resolve(import.meta.dirname, '../..');

interface Metafile {
  outputs: Record<string, { imports: { path: string; kind: string }[]; inputs: Record<string, unknown> }>;
}

describe('the compiled CLI', () => {
  it('loads no runtime, kernel or command module for --help', async () => {
    const entry: string = await ensureCliBuild(root);
    const stamp = JSON.parse(readFileSync(path.join(root, '.cli-build/current.json'), 'utf8')) as {
      metafile: Metafile;
    };
    // Everything the entry reaches through static imports is what `--help` evaluates.
    const out = stamp.metafile.outputs;
    const seen = new Set<string>();
    const todo = [path.relative(root, entry)];
    while (todo.length) {
      const file = todo.pop()!;
      if (seen.has(file) || !out[file]) continue;
      seen.add(file);
      for (const i of out[file].imports) if (i.kind === 'import-statement') todo.push(i.path);
    }
    const inputs = [...seen].flatMap((f) => Object.keys(out[f]!.inputs));
    expect(inputs).toContain('cli/command-table.ts');
    expect(inputs.filter((i) => /^(runtime|kernels|workers|cli\/commands)\//.test(i))).toEqual([]);
    // …while every command is in the bundle, behind a dynamic import.
    const all = Object.values(out).flatMap((o) => Object.keys(o.inputs));
    for (const name of Object.keys(COMMANDS)) expect(all).toContain(`cli/commands/${name}.ts`);

    const r = spawnSync(process.execPath, [path.join(root, 'cli/bin.mjs'), '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    for (const c of Object.values(COMMANDS)) expect(r.stdout).toContain(c.summary);
  });

  it('summarizes each command by the first line of its own usage', async () => {
    for (const [name, entry] of Object.entries(COMMANDS)) {
      const command = await entry.load();
      expect(command.usage.split('\n')[0], name).toBe(entry.summary);
      expect(entry.summary.startsWith(`sparsebook ${name} `), name).toBe(true);
    }
  });

  it('never reports a bundle as fresh once one of its inputs changed or went away', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cli-build-'));
    mkdirSync(path.join(dir, '.cli-build'));
    writeFileSync(path.join(dir, '.cli-build/main-X.mjs'), '');
    writeFileSync(path.join(dir, 'a.ts'), 'export {}');
    const stamp = (inputs: Record<string, number>) =>
      writeFileSync(
        path.join(dir, '.cli-build/current.json'),
        JSON.stringify({ entry: 'main-X.mjs', inputs }),
      );
    utimesSync(path.join(dir, 'a.ts'), 1000, 1000);
    stamp({ 'a.ts': 1000 * 1000 });
    expect(freshCliEntry(dir)).toBe(path.join(dir, '.cli-build/main-X.mjs'));
    utimesSync(path.join(dir, 'a.ts'), 2000, 2000); // edited after the build
    expect(freshCliEntry(dir)).toBeNull();
    stamp({ 'a.ts': 2000 * 1000, 'gone.ts': 5 });
    expect(freshCliEntry(dir)).toBeNull();
    stamp({ 'a.ts': 2000 * 1000 });
    expect(freshCliEntry(dir)).not.toBeNull();
    writeFileSync(path.join(dir, '.cli-build/current.json'), 'not json');
    expect(freshCliEntry(dir)).toBeNull();
  });
});
