/**
 * Real architectures picked in the app: the GPT-2, Gemma 3 and Qwen2-MoE fixture folders
 * (test/fixtures/arch: config.json, model.safetensors, tokenizer.json, tokenizer_config.json) go
 * through the Model cell's file picker one after the other on the same page; each time the model
 * summary names the HF architecture and its layers, and a Loss cell over the sample text lands on
 * the loss the Node runtime computes for the same folder and text.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { evaluateLoss } from '../../runtime';
import type { ArchFixtureName } from '../helpers/arch-fixtures';
import { archModelPaths, loadArchFolder } from '../helpers/arch-folders';
import { addCell } from './notebook-steps';
import { cells, openPage, screenshot, useAppContext, waitCell } from './app-server';

const FOLDERS: { name: ArchFixtureName; architecture: string; layers: number; experts?: string }[] = [
  { name: 'gpt2', architecture: 'GPT2LMHeadModel', layers: 2 },
  { name: 'gemma3', architecture: 'Gemma3ForCausalLM', layers: 4 },
  { name: 'qwen2_moe', architecture: 'Qwen2MoeForCausalLM', layers: 2, experts: '8 (top 2)' },
];

const session = useAppContext();
let page: Page;
let errors: string[];
/** The Loss cell's last value, to tell its next result from the one before. */
let previous = '';

beforeAll(async () => {
  ({ page, errors } = await openPage(session.context, session.app.baseUrl));
});

describe('architecture fixture folders picked in the Model cell', () => {
  it.each(FOLDERS)('$name: summary names $architecture, Loss runs to the Node loss', async (f) => {
    const model = cells(page).nth(1);
    await model.getByRole('radio', { name: 'Files' }).check();
    await model.getByTestId('model-files').setInputFiles(archModelPaths(f.name));
    const facts = model.getByTestId('model-facts');
    await expect
      .poll(() => facts.innerText(), { timeout: 60_000 })
      .toMatch(new RegExp(`Architecture\\s*${f.architecture}`));
    await waitCell(page, 1, 'done');
    const text = await facts.innerText();
    expect(text).toMatch(new RegExp(`Layers\\s*${f.layers}\\b`));
    if (f.experts) expect(text).toMatch(new RegExp(`Experts\\s*${f.experts.replace(/[()]/g, '\\$&')}`));
    else expect(text).not.toMatch(/Experts/);
    expect(await model.locator('.files').textContent()).toMatch(/model\.safetensors \+ tokenizer\.json/);

    // The default notebook (markdown, model, text, model view) gets a Loss cell over its sample text.
    if ((await cells(page).count()) === 4) {
      await cells(page).nth(3).focus();
      await addCell(page, 'Loss');
    }
    await page.getByRole('button', { name: 'Run all' }).click();
    // The Loss cell re-runs on the new model: wait for a new value, then compare with Node.
    const loss = cells(page).nth(4);
    // (An error ends the wait too: waitCell then fails with the cell's message.)
    await expect
      .poll(
        async () => {
          const status = await loss.getAttribute('data-cell-status');
          if (status === 'error') return status;
          return status === 'done' ? await loss.getByTestId('loss-value').textContent() : previous;
        },
        { timeout: 60_000 },
      )
      .not.toBe(previous);
    await waitCell(page, 4, 'done');
    previous = (await loss.getByTestId('loss-value').textContent()) ?? '';
    const shown = Number(previous);
    const sample = await cells(page).nth(2).getByRole('textbox').inputValue();
    const node = loadArchFolder(createCpuBackend(), f.name);
    const expected = (await evaluateLoss(node.model, node.tokenizer, sample)).loss;
    node.model.dispose();
    console.log(`${f.name} in the app: loss ${shown} (Node CPU ${expected.toFixed(4)})`);
    expect(Number.isFinite(shown)).toBe(true);
    expect(Math.abs(shown - expected)).toBeLessThan(2e-3);
    await screenshot(page, `arch-folder-${f.name}`);
    expect(errors).toEqual([]);
  });
});
