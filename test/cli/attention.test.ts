/** `sparsebook attention` as users run it (a real subprocess) on stories260K, one window. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sharedPath, STORIES260K, TINYSTORIES_VALID, TOK512 } from '../helpers/shared-paths';

const bin = path.resolve(import.meta.dirname, '../../cli/bin.mjs');
const dir = mkdtempSync(path.join(tmpdir(), 'sparsebook-attention-cli-'));
const base = ['attention', '--model', sharedPath(STORIES260K), '--tokenizer', sharedPath(TOK512)];
const textFile = path.join(dir, 'stories.txt');
writeFileSync(
  textFile,
  readFileSync(sharedPath(TINYSTORIES_VALID), 'utf8')
    .split('<|endoftext|>')
    .slice(0, 30)
    .join('<|endoftext|>'),
);
const text = ['--text', textFile, '--max-windows', '1'];

function sparsebook(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;

describe('sparsebook attention', () => {
  it('--json prints one object last with the loss next to the dense loss', () => {
    const r = sparsebook(...base, ...text, '--mask', 'topk', '--budget', '32', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = lastJson(r.stdout);
    expect(j).toMatchObject({
      model: 'stories260K.bin',
      family: 'topk',
      budget: 32,
      windows: 1,
      calibration: null,
    });
    for (const k of [
      'density',
      'recall',
      'loss',
      'dense_loss',
      'attn_flops',
      'attn_flops_dense',
      'kv_bytes',
      'kv_bytes_dense',
      'selection_flops',
      'tokens',
    ])
      expect(Number.isFinite(j[k]), k).toBe(true);
    expect(j.loss as number).toBeGreaterThan((j.dense_loss as number) - 0.01);
    expect(j.density as number).toBeLessThan(0.15);
  });

  it('channel without --calibration says its calibration came from the start of the text', () => {
    const r = sparsebook(...base, ...text, '--mask', 'channel', '--budget', '0.3', '--json');
    expect(r.code).toBe(0);
    expect(lastJson(r.stdout).calibration).toMatch(/first 3 document\(s\) of the text/);
    const h = sparsebook(...base, ...text, '--mask', 'channel', '--budget', '0.3');
    expect(h.stdout).toMatch(/channel calibration: first 3 document/);
    expect(h.stdout).toMatch(/^channel +0\.3 /m);
  });

  it('--sweep prints the curve table and --export writes the best configuration', () => {
    const out = path.join(dir, 'best.json');
    const args = [
      '--sweep',
      '--families',
      'topk,chunk',
      '--budgets',
      '0.1,1',
      '--export',
      out,
      '--max-loss-increase',
      '0.5',
    ];
    const r = sparsebook(...base, ...text, ...args, '--json');
    expect(r.code).toBe(0);
    const j = lastJson(r.stdout) as {
      points: { family: string; budget: number }[];
      best: { family: string };
    };
    expect(j.points.map((p) => `${p.family}@${p.budget}`)).toEqual([
      'topk@0.1',
      'topk@1',
      'chunk@0.1',
      'chunk@1',
    ]);
    const best = JSON.parse(readFileSync(out, 'utf8')) as {
      family: string;
      budget: number;
      per_head: unknown[];
    };
    expect(best).toEqual(j.best);
    // top-k is an oracle: the best deployable configuration is chunk's.
    expect(best.family).toBe('chunk');
    expect(best.budget).toBe(0.1);
    expect(best.per_head).toHaveLength(40);
    const t = sparsebook(...base, ...text, '--sweep', '--families', 'window-sink', '--budgets', '16,1');
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/^window-sink +16 /m);
    const o = sparsebook(...base, ...text, '--sweep', '--families', 'topk', '--budgets', '0.5');
    expect(o.stdout).toMatch(/^topk +0\.5 .* \*$/m); // marked as an oracle
  });

  it('refuses bad flags with a usage error', () => {
    expect(sparsebook(...base, ...text, '--mask', 'nope', '--budget', '0.5').stderr).toMatch(
      /unknown mask family "nope"/,
    );
    const b = sparsebook(...base, ...text, '--mask', 'hip', '--budget', '8');
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/share of causal entries/);
    expect(sparsebook(...base, ...text, '--sweep').stderr).toMatch(/--sweep needs --budgets/);
    expect(sparsebook(...base, ...text, '--sweep', '--budgets', '0.5', '--export', 'x.json').stderr).toMatch(
      /--max-loss-increase/,
    );
  });
});
