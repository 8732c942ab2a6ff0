/** `sparsebook prune` as users run it (a real subprocess) on stories260K. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { evaluateLoss, loadLlama2c } from '../../runtime';
import { parseSafetensors } from '../../runtime/formats/safetensors';
import { readShared, sharedPath, STORIES260K, TINYSTORIES_VALID, TOK512 } from '../helpers/shared-paths';

const bin = path.resolve(import.meta.dirname, '../../cli/bin.mjs');
const dir = mkdtempSync(path.join(tmpdir(), 'sparsebook-prune-cli-'));
const model = ['--model', sharedPath(STORIES260K), '--tokenizer', sharedPath(TOK512)];
const small = ['--text', sharedPath(TINYSTORIES_VALID), '--max-windows', '1', '--calibration-windows', '1'];

function sparsebook(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, 'prune', ...args], { encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;

describe('sparsebook prune', () => {
  it('wanda 2:4 --json: one JSON object with the documented fields, calibration held out, files written', () => {
    const out = path.join(dir, 'wanda-24');
    const r = sparsebook(...model, ...small, '--method', 'wanda', '--pattern', '2:4', '--json', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const j = lastJson(r.stdout);
    expect(j).toMatchObject({
      method: 'wanda',
      pattern: '2:4',
      sparsity: 0.5,
      total: 226560,
      nonzeros: 113280,
    });
    expect(j.loss as number).toBeGreaterThan(j.dense_loss as number);
    expect(String((j.calibration as { source: string }).source)).toMatch(
      /first 100 documents of tinystories-valid-1000.txt/,
    );
    expect(j.scored).toMatch(/without its calibration documents/);
    // The written llama2.c model has exactly 2 of every 4 block weights non-zero, as masks.safetensors says.
    const pruned = loadLlama2c(
      createCpuBackend(),
      readFileSync(path.join(out, 'model.bin')),
      'model.bin',
      readShared(TOK512),
      'tok512.bin',
    );
    const masks = parseSafetensors(readFileSync(path.join(out, 'masks.safetensors')), 'masks.safetensors');
    expect(masks.tensors.size).toBe(5 * 7);
    const w2 = masks.raw('model.layers.0.mlp.down_proj.weight');
    expect(w2.reduce((a, b) => a + b, 0)).toBe(w2.length / 2);
    return evaluateLoss(pruned.model, pruned.tokenizer, 'Once upon a time, there was a little dog.').then(
      (l) => expect(Number.isFinite(l.loss)).toBe(true),
    );
  });

  it('magnitude with --sparsity 0 gives the dense loss exactly', () => {
    const r = sparsebook(
      ...model,
      ...small,
      '--method',
      'magnitude',
      '--pattern',
      'unstructured',
      '--sparsity',
      '0',
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    const j = lastJson(r.stdout);
    expect(j.loss).toBe(j.dense_loss);
    expect(j.calibration).toBeNull();
  });

  it('bad flags get clear usage errors', () => {
    const bad = sparsebook(...model, ...small, '--method', 'obs', '--pattern', '2:4');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--method must be one of magnitude, wanda, sparsegpt, got 'obs'/);
    const nm = sparsebook(...model, ...small, '--method', 'wanda', '--pattern', '5:4');
    expect(nm.stderr).toMatch(/--pattern: invalid pattern '5:4': N must not exceed M/);
    const eight = sparsebook(...model, ...small, '--method', 'magnitude', '--pattern', '4:8');
    expect(eight.code).toBe(1);
    expect(eight.stderr).toMatch(
      /4:8 needs every matrix's input width to be a multiple of 8; blocks.0.w2 has 172 inputs/,
    );
  });
});
