import { describe, expect, it } from 'vitest';
import { InputError, ModelFormatError } from '../../runtime/errors';
import { parseLlama2c } from '../../runtime/formats/llama2c';
import { writeLlama2c } from '../../runtime/formats/llama2c-write';
import { countParameters, listWeights } from '../../runtime/model/llama-config';
import { readShared, STORIES260K } from '../helpers/shared-paths';
import { randomWeights, tinyConfig } from './synthetic';

const FILE = 'stories260K.bin';
const bytes = new Uint8Array(readShared(STORIES260K));

/** Copy of `src` with int32 header field `index` set to `value`. */
function withHeaderInt(src: Uint8Array, index: number, value: number): Uint8Array {
  const out = src.slice();
  new DataView(out.buffer).setInt32(index * 4, value, true);
  return out;
}

/** Bitwise equality of two float arrays (toEqual is slow on 30k-element typed arrays). */
function sameFloats(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

/** Parse and return the thrown error (fails the test when nothing is thrown). */
function parseError(data: Uint8Array, name = FILE): InputError {
  try {
    parseLlama2c(data, name);
  } catch (e) {
    expect(e).toBeInstanceOf(ModelFormatError);
    expect((e as InputError).file).toBe(name);
    expect((e as InputError).message.startsWith(`${name}: `)).toBe(true);
    return e as InputError;
  }
  throw new Error('expected parseLlama2c to throw');
}

describe('parseLlama2c: stories260K', () => {
  const ckpt = parseLlama2c(bytes, FILE);

  it('reads the legacy header', () => {
    expect(ckpt.version).toBe(0);
    expect(ckpt.config).toMatchObject({
      dim: 64,
      hiddenDim: 172,
      nLayers: 5,
      nHeads: 8,
      nKvHeads: 4,
      vocabSize: 512,
      seqLen: 512,
      sharedClassifier: true,
      headDim: 8,
      kvDim: 32,
    });
    expect(countParameters(ckpt.config)).toBe(260_032);
  });

  it('maps the weights in run.c order', () => {
    const floats = new Float32Array(bytes.buffer, 28);
    expect(ckpt.weights.tokEmbeddings[0]).toBe(floats[0]);
    expect(ckpt.weights.layers[0]!.attentionNorm[0]).toBe(floats[512 * 64]);
    // wq of layer 1 follows wq of layer 0 (weights are grouped by kind, then layer).
    expect(ckpt.weights.layers[1]!.wq[0]).toBe(floats[512 * 64 + 5 * 64 + 64 * 64]);
    expect(ckpt.weights.output).toBeNull();
    expect(ckpt.weights.norm.length).toBe(64);
    const names = listWeights(ckpt.config, ckpt.weights).map((w) => w.name);
    expect(names).toContain('layers.4.feed_forward.w3.weight');
    expect(names).not.toContain('output.weight');
  });

  it('round-trips through writeLlama2c (same size, same weights)', () => {
    const again = parseLlama2c(writeLlama2c(ckpt.config, ckpt.weights), 'copy.bin');
    expect(again.config).toEqual(ckpt.config);
    const a = listWeights(ckpt.config, ckpt.weights);
    const b = listWeights(again.config, again.weights);
    expect(b.map((w) => w.name)).toEqual(a.map((w) => w.name));
    a.forEach((w, i) => expect(sameFloats(b[i]!.data, w.data)).toBe(true));
  });
});

describe('writeLlama2c / parseLlama2c round trips', () => {
  for (const version of [0, 1] as const) {
    for (const sharedClassifier of [true, false]) {
      it(`version ${version}, ${sharedClassifier ? 'shared' : 'separate'} classifier`, () => {
        const config = tinyConfig({ sharedClassifier, nLayers: 2 });
        const weights = randomWeights(config, 7);
        const file = writeLlama2c(config, weights, { version });
        const header = version === 1 ? 256 : 28;
        const rope = version === 1 ? 0 : config.seqLen * config.headDim;
        const expectedFloats = countParameters(config) + rope;
        expect(file.byteLength).toBe(header + 4 * expectedFloats);
        const back = parseLlama2c(file, 'tiny.bin');
        expect(back.version).toBe(version);
        expect(back.config).toEqual(config);
        const a = listWeights(config, weights);
        const b = listWeights(back.config, back.weights);
        expect(b.length).toBe(a.length);
        a.forEach((w, i) => {
          expect(b[i]!.name).toBe(w.name);
          expect(sameFloats(b[i]!.data, w.data)).toBe(true);
        });
      });
    }
  }

  it('refuses values a llama2.c header cannot record, naming them', () => {
    const config = tinyConfig({ nLayers: 2 });
    const weights = randomWeights(config, 7);
    expect(() => writeLlama2c({ ...config, ropeTheta: 500000 }, weights)).toThrow(
      /writeLlama2c: rope_theta is 500000, which a llama2.c file cannot record/,
    );
    expect(() => writeLlama2c({ ...config, normEps: 1e-6 }, weights)).toThrow(
      /writeLlama2c: rms_norm_eps is 0.000001, which a llama2.c file cannot record/,
    );
    // The defaults llama2.c assumes are written.
    expect(() => writeLlama2c({ ...config, ropeTheta: 10000, normEps: 1e-5 }, weights)).not.toThrow();
  });

  it('accepts a Uint8Array at an unaligned offset', () => {
    const config = tinyConfig();
    const file = writeLlama2c(config, randomWeights(config));
    const padded = new Uint8Array(file.length + 1);
    padded.set(file, 1);
    const back = parseLlama2c(padded.subarray(1), 'tiny.bin');
    expect(back.weights.norm).toEqual(randomWeights(config).norm);
  });

  it('accepts a Node Buffer at an unaligned offset (whose slice() is a view, not a copy)', () => {
    const config = tinyConfig();
    const file = writeLlama2c(config, randomWeights(config));
    const padded = Buffer.alloc(file.length + 1);
    padded.set(file, 1);
    const back = parseLlama2c(padded.subarray(1), 'tiny.bin');
    expect(back.weights.norm).toEqual(randomWeights(config).norm);
  });
});

describe('parseLlama2c: bad files name the file and the problem', () => {
  it('truncated checkpoint', () => {
    const e = parseError(bytes.slice(0, 1000));
    expect(e.problem).toBe(
      'truncated checkpoint: header declares 264,128 weights (1,056,540 bytes including the 28-byte header) but the file has 1,000 bytes (1,055,540 missing)',
    );
  });

  it('file shorter than the header', () => {
    expect(parseError(bytes.slice(0, 10)).problem).toMatch(
      /truncated checkpoint: the file has 10 bytes, fewer than the 28-byte/,
    );
  });

  it('file longer than the header says', () => {
    const longer = new Uint8Array(bytes.length + 12);
    longer.set(bytes);
    expect(parseError(longer).problem).toMatch(
      /checkpoint size disagrees with its header: header declares 264,128 weights \(1,056,540 bytes .*\) but the file has 1,056,552 bytes \(12 extra\)/,
    );
  });

  it('a flipped classifier sign is pointed out', () => {
    // Negative vocab_size = separate classifier: the file then lacks exactly one [vocab, dim] matrix.
    const e = parseError(withHeaderInt(bytes, 5, -512));
    expect(e.problem).toMatch(
      /truncated checkpoint: .*the difference is exactly one \[vocab, dim\] classifier: is the sign of vocab_size wrong\?/,
    );
  });

  it('unsupported version after the "ak42" magic', () => {
    const data = new Uint8Array(300);
    const view = new DataView(data.buffer);
    view.setUint32(0, 0x616b3432, true);
    view.setInt32(4, 2, true);
    expect(parseError(data, 'q80.bin').problem).toMatch(
      /unsupported llama2.c checkpoint version 2 \(version 2 is the int8-quantized export\)/,
    );
    view.setInt32(4, 7, true);
    expect(parseError(data, 'v7.bin').problem).toMatch(/unsupported llama2.c checkpoint version 7;/);
  });

  it('wrong magic / not a llama2.c file', () => {
    const data = new TextEncoder().encode('PK\u0003\u0004 this is a zip archive, not a model at all');
    expect(parseError(data, 'model.zip').problem).toMatch(
      /^not a llama2.c checkpoint: the first 4 bytes \(0x04034b50\) are neither the version-1 magic 0x616b3432/,
    );
    const gguf = new TextEncoder().encode('GGUF\u0003\u0000\u0000\u0000 and then lots of other bytes here');
    expect(parseError(gguf, 'model.gguf').problem).toMatch(/GGUF/);
  });

  it('version-1 header shorter than 256 bytes, and a bad classifier flag', () => {
    const config = tinyConfig();
    const v1 = writeLlama2c(config, randomWeights(config), { version: 1 });
    expect(parseError(v1.slice(0, 100), 'v1.bin').problem).toMatch(/fewer than the 256-byte header/);
    const badFlag = v1.slice();
    badFlag[36] = 5;
    expect(parseError(badFlag, 'v1.bin').problem).toMatch(/shared_classifier flag is 5, expected 0 or 1/);
  });

  it('negative and zero dimensions', () => {
    expect(parseError(withHeaderInt(bytes, 2, -3)).problem).toMatch(
      /invalid llama2.c header: n_layers = -3 \(every dimension must be positive/,
    );
    expect(parseError(withHeaderInt(bytes, 0, 0)).problem).toMatch(/invalid llama2.c header: dim = 0/);
    expect(parseError(withHeaderInt(bytes, 5, 0)).problem).toMatch(/vocab_size = 0/);
    expect(parseError(withHeaderInt(bytes, 6, -512)).problem).toMatch(/seq_len = -512/);
  });

  it('head counts that do not divide', () => {
    expect(parseError(withHeaderInt(bytes, 3, 6)).problem).toMatch(/dim 64 is not divisible by n_heads 6/);
    expect(parseError(withHeaderInt(bytes, 4, 3)).problem).toMatch(
      /n_heads 8 is not divisible by n_kv_heads 3/,
    );
    // dim 64 / 64 heads = head size 1: rope needs pairs.
    const odd = withHeaderInt(withHeaderInt(bytes, 3, 64), 4, 64);
    expect(parseError(odd).problem).toMatch(/head size 1 \(dim \/ n_heads\) is odd/);
  });

  it('absurd sizes', () => {
    expect(parseError(withHeaderInt(bytes, 6, 1 << 30)).problem).toMatch(
      /seq_len = 1,073,741,824 exceeds the supported maximum 1,048,576; is this a llama2.c checkpoint\?/,
    );
    expect(parseError(withHeaderInt(bytes, 1, 1 << 20)).problem).toMatch(/hidden_dim = 1,048,576 exceeds/);
  });
});
