import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { CompatibilityError, TextError } from '../../runtime/errors';
import { crossEntropyRows, evaluateLoss, perTokenLoss } from '../../runtime/eval/loss';
import { parseLlama2c } from '../../runtime/formats/llama2c';
import { writeLlama2c } from '../../runtime/formats/llama2c-write';
import { loadLlama2c } from '../../runtime/index';
import { LlamaModel } from '../../runtime/model/llama';
import { buildTokenStream, END_OF_TEXT, NOTE_SINGLE_DOCUMENT, splitDocuments } from '../../runtime/text';
import { Llama2cTokenizer } from '../../runtime/tokenizers/llama2c-tokenizer';
import {
  LLAMA2_TOKENIZER,
  readShared,
  STORIES260K,
  TINYSTORIES_VALID,
  TOK512,
} from '../helpers/shared-paths';
import { randomWeights, tinyConfig } from './synthetic';

const backend = createCpuBackend();
const { model, tokenizer } = loadLlama2c(
  backend,
  readShared(STORIES260K),
  'stories260K.bin',
  readShared(TOK512),
  'tok512.bin',
);
const valid = new TextDecoder().decode(readShared(TINYSTORIES_VALID));

// A tiny random model with seqLen 8 makes the window arithmetic visible.
const tinyCfg = tinyConfig({ seqLen: 8, vocabSize: 16 });
const tiny = LlamaModel.load(
  backend,
  parseLlama2c(writeLlama2c(tinyCfg, randomWeights(tinyCfg, 5)), 'tiny.bin'),
);

async function rowLosses(m: LlamaModel, inputs: Int32Array, targets: Int32Array): Promise<Float64Array> {
  const t = await m.forward(inputs);
  const data = await backend.read(t);
  backend.dispose(t);
  return crossEntropyRows(data, m.config.vocabSize, targets);
}

describe('evaluateLoss on TinyStories', () => {
  it('the first 50 documents score in the published range', async () => {
    const text = valid.split(END_OF_TEXT).slice(0, 50).join(END_OF_TEXT);
    const r = await evaluateLoss(model, tokenizer, text, { fileName: 'tinystories-valid-1000.txt' });
    console.log(
      `stories260K loss on the first 50 validation documents: ${r.loss.toFixed(4)} (${r.tokens} tokens, ${r.windows} windows)`,
    );
    expect(r.loss).toBeGreaterThan(1.0);
    expect(r.loss).toBeLessThan(1.7);
    expect(r.perplexity).toBeCloseTo(Math.exp(r.loss), 12);
    expect(r.documents).toBe(50);
    const stream = buildTokenStream(tokenizer, text).tokens;
    expect(r.tokens).toBe(stream.length - 1);
    expect(r.windows).toBe(Math.ceil((stream.length - 1) / 512));
    expect(r.notes).toEqual([]);
  });
});

describe('windows', () => {
  it('window k covers stream[kS..kS+S]; each token after the first is predicted once, with fresh context', async () => {
    const stream = Int32Array.from({ length: 19 }, (_, i) => (i * 5 + 1) % 16);
    const losses = await perTokenLoss(tiny, stream);
    expect(losses.length).toBe(18);
    const w0 = await rowLosses(tiny, stream.subarray(0, 8), stream.subarray(1, 9));
    const w1 = await rowLosses(tiny, stream.subarray(8, 16), stream.subarray(9, 17));
    const w2 = await rowLosses(tiny, stream.subarray(16, 18), stream.subarray(17, 19));
    const expected = [...w0, ...w1, ...w2];
    expected.forEach((l, i) => expect(losses[i]).toBeCloseTo(l, 5));
  });

  it('counts windows: a trailing single token adds none, S+2 tokens need two', async () => {
    const progress: string[] = [];
    const onProgress = (p: { done: number; total: number }) => progress.push(`${p.done}/${p.total}`);
    expect((await perTokenLoss(tiny, Int32Array.of(3))).length).toBe(0);
    expect((await perTokenLoss(tiny, new Int32Array(9), { onProgress })).length).toBe(8);
    expect(progress).toEqual(['0/1', '1/1']);
    progress.length = 0;
    expect((await perTokenLoss(tiny, new Int32Array(10), { onProgress })).length).toBe(9);
    expect(progress).toEqual(['0/2', '1/2', '2/2']);
  });

  it('the loss is the mean of the per-token losses', async () => {
    const text = valid.split(END_OF_TEXT).slice(0, 3).join(END_OF_TEXT);
    const r = await evaluateLoss(model, tokenizer, text);
    const per = await perTokenLoss(model, buildTokenStream(tokenizer, text).tokens);
    expect(per.length).toBe(r.tokens);
    expect(r.loss).toBeCloseTo(per.reduce((a, b) => a + b, 0) / per.length, 5);
  });

  it('stops between windows when aborted', async () => {
    const ac = new AbortController();
    const stream = new Int32Array(40);
    let windows = 0;
    const run = perTokenLoss(tiny, stream, {
      signal: ac.signal,
      onProgress: (p) => {
        windows = p.done;
        if (p.done === 2) ac.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(windows).toBe(2);
    const pre = new AbortController();
    pre.abort();
    await expect(perTokenLoss(tiny, stream, { signal: pre.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
  });
});

describe('evaluateLoss input handling', () => {
  it('a text without <|endoftext|> is one document, with a note', async () => {
    const story = splitDocuments(valid).documents[0]!;
    const r = await evaluateLoss(model, tokenizer, story, { fileName: 'story.txt' });
    expect(r.documents).toBe(1);
    expect(r.notes).toEqual([NOTE_SINGLE_DOCUMENT]);
    expect(r.tokens).toBe(tokenizer.encode(story).length - 1);
    expect(r.loss).toBeGreaterThan(0);
  });

  it('empty text is an error naming the file', async () => {
    await expect(evaluateLoss(model, tokenizer, ' \n ', { fileName: 'empty.txt' })).rejects.toThrow(
      TextError,
    );
    await expect(evaluateLoss(model, tokenizer, '', { fileName: 'empty.txt' })).rejects.toThrow(
      'empty.txt: empty text: the text is empty; nothing to evaluate',
    );
  });

  it('invalid UTF-8 bytes are an error naming the file and offset', async () => {
    const bytes = new Uint8Array([...new TextEncoder().encode('Once upon a time'), 0xc3, 0x28]);
    await expect(evaluateLoss(model, tokenizer, bytes, { fileName: 'broken.txt' })).rejects.toThrow(
      'broken.txt: invalid UTF-8 at byte 16 (bytes c3 28); the file must be UTF-8 text',
    );
    const good = new TextEncoder().encode('Once upon a time there was a cat.');
    expect((await evaluateLoss(model, tokenizer, good)).tokens).toBeGreaterThan(5);
  });

  it('a tokenizer of another vocabulary is refused', async () => {
    const llama = Llama2cTokenizer.load(readShared(LLAMA2_TOKENIZER), 'llama2-32000.bin');
    await expect(evaluateLoss(model, llama, 'Hello')).rejects.toThrow(CompatibilityError);
    await expect(evaluateLoss(model, llama, 'Hello')).rejects.toThrow(
      /^llama2-32000.bin: tokenizer has 32,000 tokens but model stories260K.bin/,
    );
  });
});

describe('crossEntropyRows', () => {
  it('is stable for large logits', () => {
    const logits = Float32Array.of(1000, 1000, 0, -1000);
    const l = crossEntropyRows(logits, 4, Int32Array.of(0));
    expect(l[0]).toBeCloseTo(Math.log(2), 12);
  });
});
