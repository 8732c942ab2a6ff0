/**
 * `sparsebook eval --model DIR` (HF-style and llama2.c folders) and `sparsebook moe-stats`, as
 * users run them (a real subprocess), on synthetic models written to a temporary folder.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeLlama2c } from '../../runtime/formats/llama2c-write';
import { SHARED_DIR } from '../helpers/shared-paths';
import { toHf } from '../runtime/hf-export';
import { randomWeights, tinyConfig, tinyMoeConfig } from '../runtime/synthetic';

const bin = path.resolve(import.meta.dirname, '../../cli/bin.mjs');
const stories = path.join(SHARED_DIR, 'models/stories260K/stories260K.bin');
const tok = path.join(SHARED_DIR, 'models/stories260K/tok512.bin');
const dir = mkdtempSync(path.join(tmpdir(), 'sparsebook-hf-cli-'));

function sparsebook(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function lastJson<T = Record<string, unknown>>(stdout: string): T {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as T;
}

/** A folder holding `files` (name → bytes or a file to copy). */
function folder(name: string, files: Record<string, Uint8Array | string>): string {
  const d = path.join(dir, name);
  mkdirSync(d);
  for (const [f, v] of Object.entries(files)) {
    if (typeof v === 'string') copyFileSync(v, path.join(d, f));
    else writeFileSync(path.join(d, f), v);
  }
  return d;
}

const docs = readFileSync(path.join(SHARED_DIR, 'data/tinystories-valid-1000.txt'), 'utf8').split(
  '<|endoftext|>',
);
const textA = path.join(dir, 'valid-stories.txt');
const textB = path.join(dir, 'more.txt');
writeFileSync(textA, docs.slice(0, 4).join('<|endoftext|>'));
writeFileSync(textB, docs.slice(10, 13).join('<|endoftext|>'));

const dense = tinyConfig({
  dim: 32,
  hiddenDim: 40,
  nHeads: 4,
  nKvHeads: 2,
  nLayers: 2,
  vocabSize: 512,
  seqLen: 32,
  sharedClassifier: false,
});
const denseWeights = randomWeights(dense, 2, 0.3);
const denseHf = toHf(dense, denseWeights);
const denseDir = folder('dense-hf', {
  'config.json': denseHf.config,
  'model.safetensors': denseHf.weights,
  'tokenizer.bin': tok,
});
const denseBin = path.join(dir, 'dense.bin');
writeFileSync(denseBin, writeLlama2c(dense, denseWeights));

const moe = tinyMoeConfig(
  { dim: 32, hiddenDim: 16, nHeads: 4, nKvHeads: 2, nLayers: 2, vocabSize: 512, seqLen: 32 },
  { nExperts: 4, topK: 2 },
);
const moeHf = toHf(moe, randomWeights(moe, 8, 0.5));
const moeDir = folder('moe-hf', {
  'config.json': moeHf.config,
  'model.safetensors': moeHf.weights,
  'tokenizer.bin': tok,
});

interface EvalJson {
  model: string;
  architecture: string;
  hf_architecture: string | null;
  loss: number;
  tokens: number;
}

describe('sparsebook eval --model DIR', () => {
  it('an HF folder gives the loss of the same model as a llama2.c pair', () => {
    const a = sparsebook('eval', '--model', denseDir, '--text', textA, '--json');
    expect(a.code, a.stderr).toBe(0);
    const b = sparsebook('eval', '--model', denseBin, '--tokenizer', tok, '--text', textA, '--json');
    expect(b.code, b.stderr).toBe(0);
    const [ja, jb] = [lastJson<EvalJson>(a.stdout), lastJson<EvalJson>(b.stdout)];
    expect(ja).toMatchObject({
      model: 'dense-hf',
      architecture: 'llama',
      hf_architecture: 'LlamaForCausalLM',
    });
    expect(lastJson<EvalJson>(b.stdout)).toMatchObject({ architecture: 'llama', hf_architecture: null });
    expect(ja.tokens).toBe(jb.tokens);
    expect(Math.abs(ja.loss - jb.loss)).toBeLessThan(1e-5);
  });

  it('a llama2.c folder, and a Mixtral-style HF folder', () => {
    const storiesDir = folder('stories', { 'stories260K.bin': stories, 'tok512.bin': tok });
    const a = sparsebook('eval', '--model', storiesDir, '--text', textA, '--json');
    const b = sparsebook('eval', '--model', stories, '--tokenizer', tok, '--text', textA, '--json');
    expect(a.code, a.stderr).toBe(0);
    expect(lastJson<EvalJson>(a.stdout).loss).toBe(lastJson<EvalJson>(b.stdout).loss);
    const m = sparsebook('eval', '--model', moeDir, '--text', textA);
    expect(m.code, m.stderr).toBe(0);
    expect(m.stdout).toMatch(/model\s+moe-hf \(MixtralForCausalLM, 4 experts, top-2\)/);
  });

  it('an incomplete folder names the folder and what is missing; --tokenizer with a folder is a usage error', () => {
    const broken = folder('no-config', { 'model.safetensors': denseHf.weights, 'tokenizer.bin': tok });
    const r = sparsebook('eval', '--model', broken, '--text', textA);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no-config: incomplete HF model: config\.json is missing/);
    const u = sparsebook('eval', '--model', denseDir, '--tokenizer', tok, '--text', textA);
    expect(u.code).toBe(2);
    expect(u.stderr).toMatch(/--tokenizer is only for a checkpoint file/);
    expect(sparsebook('eval', '--model', denseBin, '--text', textA).code).toBe(2);
  });
});

interface StatsJson {
  model: string;
  nExperts: number;
  topK: number;
  domains: { name: string; tokens: number }[];
  specialisation: number;
  maxEntropy: number;
  layers: {
    layer: number;
    load: number[];
    routerEntropy: number;
    loadEntropy: number;
    specialisation: number;
    usage: Record<string, number[]>;
  }[];
}

describe('sparsebook moe-stats', () => {
  it('prints per-layer load, entropies, specialisation and usage as one JSON object last', () => {
    const r = sparsebook(
      'moe-stats',
      '--model',
      moeDir,
      '--text',
      textA,
      '--text',
      `tales=${textB}`,
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    const j = lastJson<StatsJson>(r.stdout);
    expect(j).toMatchObject({ model: 'moe-hf', nExperts: 4, topK: 2 });
    expect(j.domains.map((d) => d.name)).toEqual(['stories', 'tales']);
    expect(j.layers).toHaveLength(2);
    for (const l of j.layers) {
      expect(l.load.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
      expect(l.routerEntropy).toBeGreaterThan(0);
      expect(l.routerEntropy).toBeLessThanOrEqual(j.maxEntropy + 1e-9);
      expect(Object.keys(l.usage)).toEqual(['stories', 'tales']);
      expect(l.specialisation).toBeGreaterThanOrEqual(0);
    }
    const capped = lastJson<StatsJson>(
      sparsebook('moe-stats', '--model', moeDir, '--text', textA, '--max-tokens', '40', '--json').stdout,
    );
    expect(capped.domains).toEqual([{ name: 'stories', tokens: 40 }]);
  });

  it('prints a readable table without --json', () => {
    const r = sparsebook('moe-stats', '--model', moeDir, '--text', textA, '--text', textB);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/layer 1: specialisation \d\.\d{4}/);
    expect(r.stdout).toMatch(/^\s+more\s+[\d. ]+$/m);
  });

  it('refuses a dense model, a missing --text and a repeated domain', () => {
    const d = sparsebook('moe-stats', '--model', denseDir, '--text', textA);
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(/dense \(no experts\)/);
    expect(sparsebook('moe-stats', '--model', moeDir).code).toBe(2);
    const twice = sparsebook('moe-stats', '--model', moeDir, '--text', textA, '--text', `stories=${textB}`);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/domain "stories" is given twice/);
  });
});
