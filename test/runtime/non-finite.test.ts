/**
 * A non-finite number is an error, never a result (fuzz findings of the reliability issue): NaN or
 * ±Infinity in llama2.c weights and tokenizer scores are refused naming the file and where, and an
 * evaluation whose logits overflow fails (`sparsebook eval` exits 1) instead of reporting
 * `loss NaN`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { evaluateLoss, loadLlama2c, ModelFormatError, NonFiniteError, TokenizerError } from '../../runtime';
import { parseLlama2c } from '../../runtime/formats/llama2c';
import { writeLlama2c } from '../../runtime/formats/llama2c-write';
import { Llama2cTokenizer } from '../../runtime/tokenizers/llama2c-tokenizer';
import { readShared, TOK512 } from '../helpers/shared-paths';
import { randomWeights, tinyConfig } from './synthetic';

const config = tinyConfig({ vocabSize: 512, seqLen: 32, nLayers: 2 });
const tok = readShared(TOK512);

describe('non-finite numbers are errors', () => {
  it.each([NaN, Infinity, -Infinity])('llama2.c weights holding %s are refused, naming the tensor', (bad) => {
    const w = randomWeights(config, 3);
    w.layers[1]!.wv[5] = bad;
    const bytes = writeLlama2c(config, w);
    expect(() => parseLlama2c(bytes, 'bad.bin')).toThrow(ModelFormatError);
    expect(() => parseLlama2c(bytes, 'bad.bin')).toThrow(
      `bad.bin: layer 1 wv holds a non-finite value (${bad}) at index 5`,
    );
  });

  it.each([NaN, Infinity, -Infinity])('a tokenizer score of %s is refused', (bad) => {
    const bytes = new Uint8Array(tok).slice(); // a copy: tok is shared by the other cases
    // The first token's score follows the int32 max_token_length.
    new DataView(bytes.buffer, bytes.byteOffset).setFloat32(4, bad, true);
    expect(() => Llama2cTokenizer.load(bytes, 'tok.bin')).toThrow(TokenizerError);
    expect(() => Llama2cTokenizer.load(bytes, 'tok.bin')).toThrow(
      `tok.bin: invalid tokenizer: token 0 has a non-finite score (${bad})`,
    );
  });

  // Finite weights whose logits overflow float32: a final-norm scale of 3e38 (just under the float32
  // maximum) times an O(1) normalised stream is ±Infinity, and the classifier mixes the signs.
  const w = randomWeights(config, 4);
  w.norm.fill(3e38);
  const overflowing = writeLlama2c(config, w);

  it('a loss that is not finite fails the evaluation, naming the model and the token', async () => {
    const { model, tokenizer } = loadLlama2c(createCpuBackend(), overflowing, 'huge.bin', tok, 'tok512.bin');
    await expect(evaluateLoss(model, tokenizer, 'Once upon a time there was a cat.')).rejects.toThrow(
      NonFiniteError,
    );
    await expect(evaluateLoss(model, tokenizer, 'Once upon a time there was a cat.')).rejects.toThrow(
      /^huge\.bin: the loss at token 1 \(window 0\) is (NaN|Infinity): the model produced non-finite logits$/,
    );
  });

  it('sparsebook eval exits 1 on it instead of printing loss NaN', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sparsebook-nonfinite-'));
    writeFileSync(path.join(dir, 'huge.bin'), overflowing);
    writeFileSync(path.join(dir, 'text.txt'), 'Once upon a time there was a cat.');
    writeFileSync(path.join(dir, 'tok512.bin'), new Uint8Array(tok));
    const bin = path.resolve(import.meta.dirname, '../../cli/bin.mjs');
    const r = spawnSync(
      process.execPath,
      [
        bin,
        'eval',
        '--model',
        path.join(dir, 'huge.bin'),
        '--tokenizer',
        path.join(dir, 'tok512.bin'),
        '--text',
        path.join(dir, 'text.txt'),
        '--json',
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/NonFiniteError: .*huge\.bin: the loss at token 1/);
    expect(r.stdout).not.toMatch(/"loss"/);
  });
});
