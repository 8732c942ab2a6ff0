/**
 * An HF folder with tokenizer.json: loading picks HfTokenizer, the loss path puts the document
 * token (here config.json's bos_token_id 0, as SmolLM2 has it) before every document, a padded
 * embedding and a special token past it are accepted, and a text that encodes to a token past the
 * embedding is refused naming the token.
 */
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { evaluateLoss, generate, loadModelFiles, perTokenLoss } from '../../runtime';
import { CompatibilityError } from '../../runtime/errors';
import { buildTokenStream } from '../../runtime/text';
import { byteTokenizerJson } from '../helpers/hf-tokenizers';
import { hfConfigJson, toHf } from './hf-export';
import { randomWeights, tinyConfig } from './synthetic';

const enc = (s: string) => new TextEncoder().encode(s);
/** Ids of the byte tokenizer: <|endoftext|> = 0, byte b = b + 1. */
const bytes = (s: string) => Array.from(enc(s), (b) => b + 1);

/** byteTokenizerJson plus a special `<image>` token at `imageId`. */
function tokenizerWithImage(imageId: number): string {
  const t = JSON.parse(byteTokenizerJson());
  t.added_tokens.push({ id: imageId, content: '<image>', special: true, normalized: false });
  return JSON.stringify(t);
}

describe('an HF folder with tokenizer.json', () => {
  const backend = createCpuBackend();
  // 300 embedding rows for a 257-token tokenizer: padded, as Qwen pads to 151,936.
  const config = tinyConfig({ dim: 16, nHeads: 2, nKvHeads: 1, vocabSize: 300, seqLen: 8 });
  const weights = randomWeights(config, 3);
  const folder = (
    extra: Record<string, unknown>,
    tokenizer = byteTokenizerJson(),
    tokenizerConfig?: object,
  ) => [
    { name: 'config.json', bytes: enc(JSON.stringify(hfConfigJson(config, extra))) },
    { name: 'model.safetensors', bytes: toHf(config, weights).weights },
    { name: 'tokenizer.json', bytes: enc(tokenizer) },
    ...(tokenizerConfig
      ? [{ name: 'tokenizer_config.json', bytes: enc(JSON.stringify(tokenizerConfig)) }]
      : []),
  ];

  it('loads with HfTokenizer; bos_token_id 0 is the document token of every document', async () => {
    const { tokenizer, model, plan } = loadModelFiles(backend, folder({ bos_token_id: 0, eos_token_id: 0 }));
    expect(plan).toMatchObject({ format: 'hf', tokenizer: 'tokenizer.json' });
    expect(tokenizer.kind).toBe('hf');
    expect(tokenizer.documentToken).toBe(0);
    expect(tokenizer.vocabSize).toBe(257);

    const text = 'One story.<|endoftext|>\n\nTwo: é!\n<|endoftext|>   ';
    const expected = [0, ...bytes('One story.'), 0, ...bytes('Two: é!')];
    expect([...buildTokenStream(tokenizer, text).tokens]).toEqual(expected);
    const r = await evaluateLoss(model, tokenizer, text);
    expect(r.documents).toBe(2);
    expect(r.tokens).toBe(expected.length - 1);
    const perToken = await perTokenLoss(model, Int32Array.from(expected));
    const mean = perToken.reduce((a, b) => a + b, 0) / perToken.length;
    expect(r.loss).toBeCloseTo(mean, 5);
  });

  it('tokenizer_config.json is read beside tokenizer.json: its bos_token wins', () => {
    const files = folder({ bos_token_id: 5 }, byteTokenizerJson(), { bos_token: '<|endoftext|>' });
    const { tokenizer, plan } = loadModelFiles(backend, files);
    expect(plan).toMatchObject({ tokenizerConfig: 'tokenizer_config.json' });
    expect(tokenizer.documentToken).toBe(0);
  });

  it('a special token past the embedding is fine until a text produces it', async () => {
    const { tokenizer, model } = loadModelFiles(
      backend,
      folder({ bos_token_id: 0 }, tokenizerWithImage(300)),
    );
    expect(tokenizer.vocabSize).toBe(301);
    expect([...tokenizer.encode('hi')]).toEqual([0, ...bytes('hi')]);
    const message =
      'tokenizer.json: encoding notes.txt gives the token "<image>" (id 300), past the 300 embedding rows of config.json; the model cannot read it';
    expect(() => tokenizer.encode('look: <image>', { source: 'notes.txt' })).toThrow(CompatibilityError);
    expect(() => tokenizer.encode('look: <image>', { source: 'notes.txt' })).toThrow(message);
    await expect(
      evaluateLoss(model, tokenizer, 'a<|endoftext|>look: <image>', { fileName: 'notes.txt' }),
    ).rejects.toThrow(message);
  });

  it('a document token outside the vocabulary, or a tokenizer larger than the embedding, is refused', () => {
    expect(() => loadModelFiles(backend, folder({ bos_token_id: 299 }))).toThrow(
      'config.json: bos_token_id 299 is not a token of tokenizer.json (257 tokens); use the tokenizer the model was trained with',
    );
    const small = tinyConfig({ dim: 16, nHeads: 2, nKvHeads: 1, vocabSize: 200, seqLen: 8 });
    const files = [
      { name: 'config.json', bytes: enc(JSON.stringify(hfConfigJson(small, { bos_token_id: 0 }))) },
      { name: 'model.safetensors', bytes: toHf(small, randomWeights(small, 1)).weights },
      { name: 'tokenizer.json', bytes: enc(byteTokenizerJson()) },
    ];
    expect(() => loadModelFiles(backend, files)).toThrow(
      'tokenizer.json: tokenizer has 257 vocabulary tokens but model config.json has only 200 embedding rows (vocab_size); use the tokenizer the model was trained with',
    );
  });

  it('generate starts from the document token and decodes the prompt back', async () => {
    const { tokenizer, model } = loadModelFiles(backend, folder({ bos_token_id: 0, eos_token_id: 0 }));
    const r = await generate(model, tokenizer, { prompt: 'ab', steps: 6 });
    expect(Array.from(r.tokens.subarray(0, 3))).toEqual([0, ...bytes('ab')]);
    expect(r.promptLength).toBe(3);
    expect(r.text.startsWith('ab')).toBe(true);
  });
});
