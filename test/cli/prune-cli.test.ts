/** `sparsebook prune` as users run it (a real subprocess) on stories260K. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { evaluateLoss, loadLlama2c, loadModelFiles } from '../../runtime';
import { parseSafetensors } from '../../runtime/formats/safetensors';
import { readShared, sharedPath, STORIES260K, TINYSTORIES_VALID, TOK512 } from '../helpers/shared-paths';

const bin = path.resolve(import.meta.dirname, '../../cli/bin.mjs');
const dir = mkdtempSync(path.join(tmpdir(), 'sparsebook-prune-cli-'));
const model = ['--model', sharedPath(STORIES260K), '--tokenizer', sharedPath(TOK512)];
const small = ['--text', sharedPath(TINYSTORIES_VALID), '--max-windows', '1', '--calibration-windows', '1'];

function run(command: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [bin, command, ...args], { encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const sparsebook = (...args: string[]) => run('prune', ...args);

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
      readFileSync(path.join(out, 'llama2c', 'model.bin')),
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

  it('--out writes a folder that sparsebook eval and the app reopen (HF files and llama2c/) with the pruned loss', async () => {
    // Calibration from its own file, so the scored text is the whole of `scored`, as eval scores it.
    const docs = readFileSync(sharedPath(TINYSTORIES_VALID), 'utf8').split('<|endoftext|>');
    const scored = path.join(dir, 'scored.txt');
    const calibration = path.join(dir, 'calibration.txt');
    writeFileSync(scored, docs.slice(200, 203).join('<|endoftext|>'));
    writeFileSync(calibration, docs.slice(0, 20).join('<|endoftext|>'));
    const out = path.join(dir, 'reopen');
    const r = sparsebook(
      ...model,
      '--text',
      scored,
      '--calibration',
      calibration,
      '--calibration-windows',
      '1',
      '--method',
      'sparsegpt',
      '--pattern',
      'unstructured',
      '--sparsity',
      '0.6',
      '--json',
      '--out',
      out,
    );
    expect(r.code, r.stderr).toBe(0);
    const j = lastJson(r.stdout);
    expect(j.written).toEqual([
      'config.json',
      'model.safetensors',
      'tokenizer.bin',
      'masks.safetensors',
      'llama2c/model.bin',
      'llama2c/tokenizer.bin',
    ]);
    expect(j.loss as number).toBeGreaterThan((j.dense_loss as number) + 0.05);
    for (const folder of [out, path.join(out, 'llama2c')]) {
      const e = run('eval', '--model', folder, '--text', scored, '--json');
      expect(e.code, e.stderr).toBe(0);
      const ej = lastJson(e.stdout);
      expect(ej.tokens).toBe(j.tokens);
      // The same weights scored the same way: the f32 files round-trip exactly, so only summation
      // order could differ.
      expect(Math.abs((ej.loss as number) - (j.loss as number)), folder).toBeLessThan(1e-5);
    }
    // The app opens the files the user picks from the folder with loadModelFiles.
    const picked = readdirSync(out, { withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => ({ name: e.name, bytes: new Uint8Array(readFileSync(path.join(out, e.name))) }));
    const app = loadModelFiles(createCpuBackend(), picked, { source: 'reopen' });
    expect(app.format).toBe('hf');
    const loss = await evaluateLoss(app.model, app.tokenizer, readFileSync(scored, 'utf8'));
    expect(Math.abs(loss.loss - (j.loss as number))).toBeLessThan(1e-5);
  });

  it('refuses options it cannot honour, naming the flag', () => {
    const cases: [string[], RegExp][] = [
      [
        ['--method', 'wanda', '--pattern', 'unstructured', '--sparsity', '0.5', '--global'],
        /--global is for method magnitude only .*; got wanda/,
      ],
      [
        ['--method', 'magnitude', '--pattern', '2:4', '--global'],
        /--global is for the unstructured pattern only .*; got 2:4/,
      ],
      [
        [
          '--method',
          'magnitude',
          '--pattern',
          'channels',
          '--sparsity',
          '0.5',
          '--allocation',
          'sensitivity',
        ],
        /--allocation sensitivity is for the unstructured pattern only .*; got channels/,
      ],
      [
        [
          '--method',
          'magnitude',
          '--pattern',
          'unstructured',
          '--sparsity',
          '0.5',
          '--allocation',
          'sensitivity',
          '--global',
        ],
        /--global and --allocation sensitivity both decide/,
      ],
    ];
    for (const [flags, message] of cases) {
      const r = sparsebook(...model, ...small, ...flags);
      expect(r.code, flags.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
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
