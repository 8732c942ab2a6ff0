/** `sparsebook sae train|eval` as users run them (a real subprocess) on stories260K, small runs. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sharedPath, STORIES260K, TINYSTORIES_VALID, TOK512 } from '../helpers/shared-paths';

const bin = path.resolve(import.meta.dirname, '../../cli/bin.mjs');
const dir = mkdtempSync(path.join(tmpdir(), 'sparsebook-sae-cli-'));
const model = ['--model', sharedPath(STORIES260K), '--tokenizer', sharedPath(TOK512)];
const textFile = path.join(dir, 'stories.txt');
writeFileSync(
  textFile,
  readFileSync(sharedPath(TINYSTORIES_VALID), 'utf8')
    .split('<|endoftext|>')
    .slice(0, 30)
    .join('<|endoftext|>'),
);
const HOOK = 'blocks.2.hook_resid_post';
const small = [
  '--steps',
  '40',
  '--batch-size',
  '256',
  '--max-rows',
  '4096',
  '--eval-windows',
  '1',
  '--lr',
  '3e-3',
];

function sparsebook(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, 'sae', ...args], { encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
/** `train` at HOOK over the text with these flags, saving to `out`. */
const trainTo = (out: string, ...flags: string[]) =>
  sparsebook('train', ...model, '--text', textFile, '--hook', HOOK, ...flags, '--out', out);
/** `train` of one kind at the small settings, with --json. */
const trainSmall = (kind: string, out: string) =>
  trainTo(out, '--kind', kind, '--k', '8', ...small, '--json');
const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
const KEYS = [
  'explained_variance',
  'mse',
  'l0',
  'dead_fraction',
  'loss_clean',
  'loss_spliced',
  'loss_zero_ablated',
  'loss_recovered',
];

describe('sparsebook sae', () => {
  const out = path.join(dir, 'topk');

  it('train --json saves the SAELens layout and ends with one JSON object of the held-out metrics', () => {
    const r = trainSmall('topk', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = lastJson(r.stdout);
    for (const k of KEYS) expect(Number.isFinite(j[k]), k).toBe(true);
    expect(j).toMatchObject({ kind: 'topk', hook: HOOK, d_in: 64, d_sae: 512, steps: 40, windows: 1 });
    expect(j.l0 as number).toBeLessThanOrEqual(8);
    expect(j.explained_variance as number).toBeGreaterThan(0.4);
    expect(existsSync(path.join(out, 'cfg.json'))).toBe(true);
    expect(existsSync(path.join(out, 'sae_weights.safetensors'))).toBe(true);
    const cfg = JSON.parse(readFileSync(path.join(out, 'cfg.json'), 'utf8')) as Record<string, unknown>;
    expect(cfg).toMatchObject({ architecture: 'topk', d_in: 64, d_sae: 512, hook_name: HOOK, k: 8 });

    // eval of the saved SAE on the same (held-out) window gives the same numbers.
    const e = sparsebook('eval', ...model, '--text', textFile, '--sae', out, '--max-windows', '1', '--json');
    expect(e.stderr).toBe('');
    expect(e.code).toBe(0);
    const ej = lastJson(e.stdout);
    for (const k of KEYS) expect(ej[k], k).toBeCloseTo(j[k] as number, 6);
  });

  it('batchtopk --k trains, saves the JumpReLU inference form with its threshold, and eval agrees', () => {
    const o = path.join(dir, 'batchtopk');
    const r = trainSmall('batchtopk', o);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = lastJson(r.stdout);
    expect(j).toMatchObject({ kind: 'batchtopk', k: 8, steps: 40 });
    expect(j.threshold as number).toBeGreaterThan(0);
    // One global threshold at inference: the held-out L0 varies around k rather than being ≤ k.
    expect(j.l0 as number).toBeGreaterThan(4);
    expect(j.l0 as number).toBeLessThan(14);
    expect(j.explained_variance as number).toBeGreaterThan(0.4);
    const cfg = JSON.parse(readFileSync(path.join(o, 'cfg.json'), 'utf8')) as Record<string, unknown>;
    expect(cfg).toMatchObject({ architecture: 'jumprelu', d_in: 64, d_sae: 512, hook_name: HOOK });
    const e = sparsebook('eval', ...model, '--text', textFile, '--sae', o, '--max-windows', '1', '--json');
    expect(e.code).toBe(0);
    const ej = lastJson(e.stdout);
    for (const k of KEYS) expect(ej[k], k).toBeCloseTo(j[k] as number, 6);
  });

  it('itda trains a dictionary that eval re-opens with matching pursuit', () => {
    const o = path.join(dir, 'itda');
    const r = sparsebook(
      'train',
      ...model,
      '--text',
      textFile,
      '--hook',
      HOOK,
      '--kind',
      'itda',
      '--k',
      '8',
      '--max-rows',
      '2048',
      '--eval-windows',
      '1',
      '--out',
      o,
      '--json',
    );
    expect(r.code).toBe(0);
    const j = lastJson(r.stdout);
    const e = sparsebook('eval', ...model, '--text', textFile, '--sae', o, '--max-windows', '1', '--json');
    expect(e.code).toBe(0);
    const ej = lastJson(e.stdout);
    expect(ej.kind).toBe('itda');
    expect(ej.explained_variance).toBeCloseTo(j.explained_variance as number, 6);
  });

  it('a bad hook name lists the valid ones', () => {
    const r = sparsebook(
      'train',
      ...model,
      '--text',
      textFile,
      '--hook',
      'blocks.9.resid',
      '--kind',
      'topk',
      '--out',
      path.join(dir, 'x'),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/invalid hook "blocks\.9\.resid".*L in 0–4.*hook_resid_post/);
  });

  it('a flag the kind does not read is refused, naming the flag and the kinds that read it', () => {
    const train = (...flags: string[]) => trainTo(path.join(dir, 'refused'), ...flags);
    const cases: [string[], RegExp][] = [
      [['--kind', 'topk', '--l1', '5'], /--l1 is read by relu and jumprelu SAEs only, not topk/],
      [['--kind', 'batchtopk', '--l1', '5'], /--l1 is read by relu and jumprelu SAEs only, not batchtopk/],
      [['--kind', 'batchtopk', '--threshold', '0.2'], /--threshold is read by itda SAEs only, not batchtopk/],
      [['--kind', 'relu', '--k', '8'], /--k is read by topk, batchtopk and itda SAEs only, not relu/],
      [['--kind', 'jumprelu', '--threshold', '0.2'], /--threshold is read by itda SAEs only, not jumprelu/],
    ];
    for (const [flags, message] of cases) {
      const r = train(...flags);
      expect(r.code, flags.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it('a mismatched d_in or a missing file is a clear error; bad flags are usage errors', () => {
    const cfgFile = path.join(dir, 'topk', 'cfg.json');
    const wrong = path.join(dir, 'wrong');
    const cfg = JSON.parse(readFileSync(cfgFile, 'utf8')) as Record<string, unknown>;
    // Point the SAE at a hook of another width (mlp.hook_post is the FFN's hidden width).
    spawnSync('mkdir', ['-p', wrong]);
    writeFileSync(
      path.join(wrong, 'cfg.json'),
      JSON.stringify({ ...cfg, hook_name: 'blocks.2.mlp.hook_post', metadata: {} }),
    );
    writeFileSync(
      path.join(wrong, 'sae_weights.safetensors'),
      readFileSync(path.join(dir, 'topk', 'sae_weights.safetensors')),
    );
    const m = sparsebook('eval', ...model, '--text', textFile, '--sae', wrong, '--json');
    expect(m.code).toBe(1);
    expect(m.stderr).toMatch(
      /cfg\.json: d_in is 64 but the activations at blocks\.2\.mlp\.hook_post have width \d+/,
    );

    const missing = sparsebook(
      'eval',
      ...model,
      '--text',
      textFile,
      '--sae',
      path.join(dir, 'nope'),
      '--json',
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope: cannot read SAE folder or file \(ENOENT\)/);

    expect(
      sparsebook('train', ...model, '--text', textFile, '--hook', HOOK, '--kind', 'sparse', '--out', wrong)
        .code,
    ).toBe(2);
    expect(sparsebook('fit').stderr).toMatch(
      /unknown subcommand 'fit'; expected train, eval, info or releases/,
    );
  });
});
