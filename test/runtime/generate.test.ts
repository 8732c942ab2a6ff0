import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { generate } from '../../runtime/generate';
import { loadLlama2c } from '../../runtime/index';
import { XorShiftRng } from '../../runtime/random';
import { Llama2cTokenizer } from '../../runtime/tokenizers/llama2c-tokenizer';
import { LLAMA2_TOKENIZER, readShared, STORIES260K, TOK512 } from '../helpers/shared-paths';
import { ReferenceLlama } from './reference-forward';

const modelFile = readShared(STORIES260K);
const backend = createCpuBackend();
const { model, tokenizer } = loadLlama2c(
  backend,
  modelFile,
  'stories260K.bin',
  readShared(TOK512),
  'tok512.bin',
);

const OPENING =
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball.';

/**
 * Greedy tokens from BOS, 80 steps, recorded once from this runtime and confirmed identical by the
 * scalar reference below and by llama2.c's own run.c (compiled, `-t 0 -n 80`).
 */
const GOLDEN = [
  1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337, 410,
  408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385, 328, 432, 358, 394, 261, 370, 432, 352, 266, 268,
  388, 426, 338, 391, 266, 267, 337, 335, 312, 432, 398, 312, 286, 267, 414, 270, 333, 415, 426, 13, 438, 310,
  439, 419, 357, 336, 432, 313, 438, 310, 432, 278, 316, 439, 419, 298, 414, 267,
];

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('generate', () => {
  it('greedy decoding from BOS reproduces the known stories260K story (80 tokens)', async () => {
    const streamed: string[] = [];
    const r = await generate(model, tokenizer, { steps: 80, onToken: (_, text) => streamed.push(text) });
    expect(r.text.startsWith(OPENING)).toBe(true);
    expect(r.tokens.length - r.promptLength).toBe(80);
    expect(Array.from(r.tokens)).toEqual(GOLDEN);
    expect(streamed.join('')).toBe(r.text);
    expect(r.stoppedAtBos).toBe(false);
  });

  it('the golden tokens are also the scalar reference’s greedy choices', () => {
    const ref = new ReferenceLlama(modelFile);
    const tokens = [1];
    for (let pos = 0; pos < 80; pos++) {
      const logits = ref.forward(tokens[pos]!, pos);
      let best = 0;
      for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
      tokens.push(best);
    }
    expect(tokens).toEqual(GOLDEN);
  });

  it('counts steps as run.c: total positions including the prompt', async () => {
    const prompt = 'Once upon a time';
    const promptTokens = tokenizer.encode(prompt);
    const r = await generate(model, tokenizer, { prompt, steps: 12 });
    expect(r.promptLength).toBe(promptTokens.length);
    expect(Array.from(r.tokens.slice(0, promptTokens.length))).toEqual(Array.from(promptTokens));
    expect(r.tokens.length).toBe(12 + 1);
    expect(r.text.startsWith(prompt)).toBe(true);
    // Continuing a greedy prefix gives the greedy continuation.
    expect(Array.from(r.tokens)).toEqual(GOLDEN.slice(0, 13));
    // A prompt longer than steps is cut, nothing sampled.
    const cut = await generate(model, tokenizer, { prompt, steps: 2 });
    expect(Array.from(cut.tokens)).toEqual(Array.from(promptTokens.slice(0, 3)));
  });

  it('temperature sampling is reproducible by seed (run.c xorshift) and topP restricts it', async () => {
    const opts = { prompt: 'One day', steps: 40, temperature: 1, topP: 0.9 };
    const a = await generate(model, tokenizer, { ...opts, seed: 1 });
    const b = await generate(model, tokenizer, { ...opts, seed: 1 });
    const c = await generate(model, tokenizer, { ...opts, seed: 2 });
    expect(Array.from(a.tokens)).toEqual(Array.from(b.tokens));
    expect(Array.from(a.tokens)).not.toEqual(Array.from(c.tokens));
    // Recorded from this runtime; identical to run.c `-t 1 -p 0.9 -s 1 -n 40 -i "One day"`.
    expect(a.text).toBe(
      'One day, a big, birdie saw a big blanket. The bird wanted to make it small and fly aw',
    );
  });

  it('stops when aborted', async () => {
    const ac = new AbortController();
    let n = 0;
    const run = generate(model, tokenizer, {
      steps: 100,
      signal: ac.signal,
      onToken: () => {
        if (++n === 5) ac.abort();
      },
    });
    await expect(run).rejects.toThrow(/abort/i);
    expect(n).toBe(5);
  });

  it('validates steps, seed and the tokenizer', async () => {
    const llama = Llama2cTokenizer.load(readShared(LLAMA2_TOKENIZER), 'llama2-32000.bin');
    await expect(generate(model, llama, { steps: 5 })).rejects.toThrow(
      /^llama2-32000.bin: tokenizer has 32,000 tokens but model stories260K.bin has vocab_size 512/,
    );
    await expect(generate(model, tokenizer, { steps: 0 })).rejects.toThrow(
      /steps must be a positive integer/,
    );
    await expect(generate(model, tokenizer, { steps: 5, temperature: 1, seed: 0 })).rejects.toThrow(
      /seed must be a positive integer/,
    );
  });
});

/** run.c `random_u32` with rng_seed = 42, printed by the C code compiled with gcc. */
const XORSHIFT_42 = [1456360119, 3359763283, 3393612768];

describe('XorShiftRng', () => {
  it('is run.c random_u32 (xorshift64*)', () => {
    const rng = new XorShiftRng(42);
    const out = [rng.nextU32(), rng.nextU32(), rng.nextU32()];
    expect(out).toEqual(XORSHIFT_42);
    expect(new XorShiftRng(42).nextF32()).toBe((XORSHIFT_42[0]! >>> 8) / 16777216);
  });
});

describe('KV cache', () => {
  it('incremental decoding gives the full-sequence logits at every position', async () => {
    const tokens = Int32Array.from(GOLDEN.slice(0, 40));
    const full = await backend.read(await model.forward(tokens));
    const cache = model.createKvCache();
    const parts: Float32Array[] = [];
    parts.push(await backend.read(await model.forward(tokens.subarray(0, 10), { kvCache: cache })));
    expect(cache.length).toBe(10);
    for (let i = 10; i < 40; i++)
      parts.push(await backend.read(await model.forward(tokens.subarray(i, i + 1), { kvCache: cache })));
    const incremental = new Float32Array(40 * 512);
    let o = 0;
    for (const p of parts) {
      incremental.set(p, o);
      o += p.length;
    }
    expect(maxAbsDiff(incremental, full)).toBeLessThan(1e-4);
    // Rewinding overwrites positions: replaying the last 5 tokens gives the same logits again.
    const again = await backend.read(
      await model.forward(tokens.subarray(35, 40), { kvCache: cache, pos0: 35 }),
    );
    expect(maxAbsDiff(again, full.subarray(35 * 512))).toBeLessThan(1e-4);
    await expect(model.forward(tokens.subarray(0, 1), { kvCache: cache, pos0: 41 })).rejects.toThrow(/gap/);
    cache.dispose();
    await expect(model.forward(tokens.subarray(0, 1), { kvCache: cache })).rejects.toThrow(/after dispose/);
  });
});
