/** `sparsebook attention-probe` as users run it (a real subprocess) on stories260K. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { headProbeSchema } from '../../analyses/attention/probes';
import { sharedPath, STORIES260K, TINYSTORIES_VALID, TOK512 } from '../helpers/shared-paths';

const bin = path.resolve(import.meta.dirname, '../../cli/bin.mjs');
const dir = mkdtempSync(path.join(tmpdir(), 'sparsebook-probe-cli-'));
const base = ['attention-probe', '--model', sharedPath(STORIES260K), '--tokenizer', sharedPath(TOK512)];
const text = ['--text', sharedPath(TINYSTORIES_VALID)];

function sparsebook(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface ProbeJson {
  model: string;
  windows: number;
  tokens: number;
  heads: {
    layer: number;
    head: number;
    entropy: number;
    sink_mass: number;
    mean_distance: number;
    k90: number;
    vertical: number;
    slash: number;
  }[];
  sink_heads: { layer: number; head: number }[];
  local_heads: { layer: number; head: number }[];
}

describe('sparsebook attention-probe', () => {
  it('--json prints one summary object last, and --out writes the per-head Arrow table', () => {
    const out = path.join(dir, 'heads.arrow');
    const r = sparsebook(...base, ...text, '--max-windows', '2', '--out', out, '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const j = JSON.parse(lines[lines.length - 1]!) as ProbeJson;
    expect(j).toMatchObject({ model: 'stories260K.bin', windows: 2, tokens: 1024 });
    expect(j.heads).toHaveLength(40);
    for (const h of j.heads) {
      expect(h.sink_mass).toBeGreaterThanOrEqual(0);
      expect(h.sink_mass).toBeLessThanOrEqual(1);
      expect(h.k90).toBeGreaterThanOrEqual(1);
    }
    const local = j.heads.filter((h) => h.mean_distance < 2).map((h) => ({ layer: h.layer, head: h.head }));
    expect(j.local_heads).toEqual(expect.arrayContaining(local));
    expect(j.local_heads).toHaveLength(local.length);
    expect(j.sink_heads).toHaveLength(j.heads.filter((h) => h.sink_mass > 0.5).length);

    const t = tableFromIPC(readFileSync(out));
    expect(t.numRows).toBe(40);
    expect(t.schema.fields.map((f) => f.name)).toEqual(
      headProbeSchema([1, 2, 4, 8, 16, 32, 64], 10).fields.map((f) => f.name),
    );
    expect(t.getChild('sink_mass')!.get(3)).toBeCloseTo(j.heads[3]!.sink_mass, 6);
  });

  it('--out FILE.parquet writes the same per-head table as Parquet', async () => {
    const out = path.join(dir, 'heads.parquet');
    const r = sparsebook(...base, ...text, '--max-windows', '1', '--out', out, '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const j = JSON.parse(lines[lines.length - 1]!) as ProbeJson & { out: string };
    expect(j.out).toBe(out);

    const bytes = readFileSync(out);
    const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const meta = parquetMetadata(file);
    expect(Number(meta.num_rows)).toBe(40);
    const names = headProbeSchema([1, 2, 4, 8, 16, 32, 64], 10).fields.map((f) => f.name);
    const leaves = meta.schema.slice(1);
    expect(leaves.map((e) => e.name)).toEqual(names);
    expect(leaves.slice(0, 3).map((e) => e.type)).toEqual(['INT32', 'INT32', 'INT32']);
    expect(leaves.slice(3).every((e) => e.type === 'FLOAT')).toBe(true);
    const rows = await parquetReadObjects({ file });
    expect(rows).toHaveLength(40);
    expect(rows.map((row) => [row.layer, row.head])).toEqual(j.heads.map((h) => [h.layer, h.head]));
    for (const [i, h] of j.heads.entries()) {
      expect(rows[i]!.sink_mass).toBeCloseTo(h.sink_mass, 6);
      expect(rows[i]!.mean_distance).toBeCloseTo(h.mean_distance, 5);
    }
  });

  it('prints a readable per-head table without --json', () => {
    const r = sparsebook(...base, ...text, '--max-windows', '1');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/1 windows, 512 query rows per head/);
    expect(r.stdout).toMatch(/^L4H7 /m);
    expect(r.stdout).toMatch(/local \(mean distance < 2\): .*L1H3/);
  });

  it('refuses bad flags with a usage error', () => {
    const r = sparsebook(...base, ...text, '--max-windows', '0');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--max-windows must be at least 1/);
    expect(sparsebook(...base).stderr).toMatch(/missing --text/);
  });
});
