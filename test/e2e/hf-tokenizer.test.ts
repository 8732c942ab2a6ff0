/**
 * An HF folder that brings tokenizer.json + tokenizer_config.json, picked in the app: the worker
 * reads it with @huggingface/tokenizers (bundled into the worker), the model cell names the files,
 * and the default notebook runs on it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { byteTokenizerJson } from '../helpers/hf-tokenizers';
import { hfConfigJson, toHf } from '../runtime/hf-export';
import { randomWeights, tinyConfig } from '../runtime/synthetic';
import { cells, newAppContext, openPage, useApp, waitCell } from './app-server';

const session = useApp();

describe('an HF folder with tokenizer.json in the app', () => {
  it('loads in the worker and runs the default notebook', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sparsebook-e2e-hf-tok-'));
    // 260 embedding rows for the 257-token byte tokenizer (padded, as Qwen's).
    const config = tinyConfig({ dim: 16, nHeads: 2, nKvHeads: 1, vocabSize: 260, seqLen: 64 });
    const files: Record<string, string | Uint8Array> = {
      'config.json': JSON.stringify(hfConfigJson(config, { bos_token_id: 0, eos_token_id: 0 })),
      'model.safetensors': toHf(config, randomWeights(config, 2)).weights,
      'tokenizer.json': byteTokenizerJson(),
      'tokenizer_config.json': JSON.stringify({ bos_token: '<|endoftext|>', eos_token: '<|endoftext|>' }),
    };
    for (const [name, data] of Object.entries(files)) writeFileSync(path.join(dir, name), data);

    const context = await newAppContext(session.app);
    try {
      const { page, errors } = await openPage(context, session.app.baseUrl);
      const cell = cells(page).nth(1);
      await cell.getByRole('radio', { name: 'Files' }).check();
      await cell.getByTestId('model-files').setInputFiles(Object.keys(files).map((f) => path.join(dir, f)));
      await waitCell(page, 1, 'done');
      expect(await cell.getByTestId('model-facts').innerText()).toMatch(/Vocab\s*260/);
      expect(await cell.locator('.files').textContent()).toMatch(/model\.safetensors \+ tokenizer\.json/);
      await page.getByRole('button', { name: 'Run all' }).click();
      await waitCell(page, 3, 'done');
      expect(await cells(page).nth(3).getByTestId('head').count()).toBe(2);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
