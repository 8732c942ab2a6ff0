/**
 * `sparsebook eval --model DIR` on an HF folder that brings tokenizer.json + tokenizer_config.json:
 * the CLI reads both and gives the loss the runtime gives in process.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { evaluateLoss, loadModelFiles } from '../../runtime';
import { byteTokenizerJson } from '../helpers/hf-tokenizers';
import { hfConfigJson, toHf } from '../runtime/hf-export';
import { randomWeights, tinyConfig } from '../runtime/synthetic';

const bin = path.resolve(import.meta.dirname, '../../cli/bin.mjs');

describe('sparsebook eval on an HF folder with tokenizer.json', () => {
  it('reads tokenizer.json and tokenizer_config.json and matches the runtime', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sparsebook-hf-tok-'));
    const config = tinyConfig({ dim: 16, nHeads: 2, nKvHeads: 1, vocabSize: 260, seqLen: 8 });
    const hf = toHf(config, randomWeights(config, 5));
    const files = {
      'config.json': JSON.stringify(hfConfigJson(config, { bos_token_id: 7 })),
      'model.safetensors': hf.weights,
      'tokenizer.json': byteTokenizerJson(),
      // Its bos_token (id 0) wins over config.json's bos_token_id 7.
      'tokenizer_config.json': JSON.stringify({ bos_token: '<|endoftext|>' }),
    };
    for (const [name, data] of Object.entries(files)) writeFileSync(path.join(dir, name), data);
    const text = 'A short story.<|endoftext|>Another one, with é and 😀.';
    const textFile = path.join(dir, 'text.txt');
    writeFileSync(textFile, text);

    const r = spawnSync(process.execPath, [bin, 'eval', '--model', dir, '--text', textFile, '--json'], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const got = JSON.parse(lines[lines.length - 1]!) as { loss: number; tokens: number };

    const enc = (s: string | Uint8Array) => (typeof s === 'string' ? new TextEncoder().encode(s) : s);
    const loaded = loadModelFiles(
      createCpuBackend(),
      Object.entries(files).map(([name, data]) => ({ name, bytes: enc(data) })),
    );
    expect(loaded.tokenizer.documentToken).toBe(0);
    const want = await evaluateLoss(loaded.model, loaded.tokenizer, text);
    // Two documents, each its document token + one token per UTF-8 byte.
    expect(want.tokens).toBe(
      2 + enc('A short story.').length + enc('Another one, with é and 😀.').length - 1,
    );
    expect(got.tokens).toBe(want.tokens);
    expect(got.loss).toBeCloseTo(want.loss, 5);
  });
});
