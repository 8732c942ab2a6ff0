/**
 * The MoE lab cells end to end in headless Chromium with WebGPU (SwiftShader; a missing adapter
 * FAILS), on the bundled micro-balanced MoE: the MoE lab cell's co-activation, token → expert map,
 * balance and chunk views; aux-free balancing lowering max/mean load; an expert disabled raising
 * the loss and an expert-pruning curve; and a routing log (written here by the runtime) read by the
 * routing-log cell without the model. Screenshots go to test-artifacts/e2e/.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectRoutingLog, routingLogToParquet } from '../../analyses/moe';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { buildTokenStream, loadModelFiles } from '../../runtime';
import { cells, expectBackend, openPage, screenshot, useAppContext, waitCell } from './app-server';
import { addCell } from './notebook-steps';

const root = path.resolve(import.meta.dirname, '../..');
const micro = path.join(root, 'public/models/sparsebook-moe-micro');
const firstDocs = (domain: string, n: number) =>
  readFileSync(path.join(root, 'public/models/corpus', `valid-${domain}.txt`), 'utf8')
    .split('\n<|endoftext|>\n')
    .slice(0, n)
    .join('\n<|endoftext|>\n');

const session = useAppContext();

describe('MoE lab cells', () => {
  it('routes, balances, intervenes and reads a routing log', async () => {
    const { page, errors } = await openPage(session.context, session.app.baseUrl);
    await expectBackend(page, /WebGPU/);
    // Model cell → the bundled micro MoE; the text cell → two e-mails; the model view goes.
    await page.getByRole('button', { name: 'Delete cell 4' }).click();
    const model = cells(page).nth(1);
    await model.getByRole('combobox', { name: 'Bundled model' }).selectOption('sparsebook-moe-micro');
    await waitCell(page, 1, 'done', 180_000);
    const text = cells(page).nth(2).getByRole('textbox');
    await text.fill(firstDocs('email', 2));
    await text.blur();
    await cells(page).nth(2).focus();

    // MoE lab over the bundled corpus, 256 tokens per domain.
    await addCell(page, 'MoE lab');
    const lab = cells(page).nth(3);
    expect(await lab.getAttribute('data-cell-kind')).toBe('moe-lab');
    await lab.getByRole('spinbutton', { name: 'Tokens per domain' }).fill('256');
    await lab.getByRole('spinbutton', { name: 'Tokens per domain' }).blur();
    await expect.poll(() => lab.getByTestId('moe-lab-line').count(), { timeout: 240_000 }).toBe(1);
    await waitCell(page, 3, 'done', 240_000);
    expect(await lab.getByTestId('moe-lab-line').innerText()).toMatch(
      /1,024 tokens .* LBL micro \(document\) \d\.\d{4}, global \d\.\d{4}/,
    );
    expect(await lab.getByTestId('moe-coactivation').locator('canvas').count()).toBeGreaterThan(0);
    await lab.scrollIntoViewIfNeeded();
    await screenshot(page, 'moe-lab-coactivation');
    await lab.getByRole('combobox', { name: 'MoE lab view' }).selectOption('token-expert');
    const map = lab.getByTestId('moe-token-expert');
    await expect.poll(() => map.locator('.tok').count()).toBe(128 * 4);
    await screenshot(page, 'moe-lab-token-expert');
    await lab.getByRole('combobox', { name: 'MoE lab view' }).selectOption('balance');
    expect(await lab.getByTestId('moe-balance-table').locator('tbody tr').count()).toBe(4);
    await lab.getByRole('combobox', { name: 'MoE lab view' }).selectOption('chunks');
    expect(await lab.getByTestId('moe-chunks').locator('svg').count()).toBeGreaterThan(0);
    expect(await lab.getAttribute('data-cell-status')).toBe('done'); // views never re-run

    // Aux-free balancing on the e-mails.
    await addCell(page, 'MoE balancing');
    const balance = cells(page).nth(4);
    for (const [name, value] of [
      ['Tokens routed', '512'],
      ['Update rate u', '0.002'],
      ['Tokens per step', '32'],
      ['Passes', '3'],
    ] as const) {
      await balance.getByRole('spinbutton', { name }).fill(value);
      await balance.getByRole('spinbutton', { name }).blur();
    }
    const summary = balance.getByTestId('moe-balance-summary');
    await expect.poll(() => summary.getAttribute('data-after'), { timeout: 240_000 }).not.toBeNull();
    await waitCell(page, 4, 'done', 240_000);
    expect(Number(await summary.getAttribute('data-after'))).toBeLessThan(
      Number(await summary.getAttribute('data-before')),
    );
    await balance.scrollIntoViewIfNeeded();
    await screenshot(page, 'moe-balance');

    // Disable expert 3 everywhere; prune 0 and 4 experts per layer.
    await addCell(page, 'MoE interventions');
    const iv = cells(page).nth(5);
    await iv.getByRole('textbox', { name: 'Disabled experts' }).fill('*:3');
    await iv.getByRole('textbox', { name: 'Disabled experts' }).blur();
    await iv.getByRole('textbox', { name: 'Experts dropped per layer' }).fill('0, 4');
    await iv.getByRole('textbox', { name: 'Experts dropped per layer' }).blur();
    const ivSummary = iv.getByTestId('moe-interventions-summary');
    await expect
      .poll(() => iv.getByTestId('moe-pruning-points').locator('tbody tr').count(), { timeout: 240_000 })
      .toBe(2);
    await waitCell(page, 5, 'done', 240_000);
    expect(Number(await ivSummary.getAttribute('data-intervened'))).toBeGreaterThan(
      Number(await ivSummary.getAttribute('data-base')),
    );
    await iv.scrollIntoViewIfNeeded();
    await screenshot(page, 'moe-interventions');

    // A routing log written by the runtime, read by the routing-log cell without the model.
    const files = ['config.json', 'model.safetensors', 'tokenizer.bin'].map((name) => ({
      name,
      bytes: new Uint8Array(readFileSync(path.join(micro, name))),
    }));
    const loaded = loadModelFiles(createCpuBackend(), files, { source: 'sparsebook-moe-micro' });
    const s = buildTokenStream(loaded.tokenizer, firstDocs('code', 2), 'code');
    const log = await collectRoutingLog(loaded.model, [
      { domain: 'code', tokens: s.tokens.slice(0, 300), documentStarts: s.documentStarts },
    ]);
    const dir = mkdtempSync(path.join(tmpdir(), 'routing-log-'));
    const parts = routingLogToParquet(log, { maxRowsPerFile: 500 }).map((bytes, i) => {
      const file = path.join(dir, `log-${i}.parquet`);
      writeFileSync(file, bytes);
      return file;
    });
    expect(parts.length).toBeGreaterThan(1);
    await cells(page).nth(5).focus();
    await addCell(page, 'MoE routing log');
    const logCell = cells(page).nth(6);
    await logCell.getByLabel('Routing-log files').setInputFiles(parts);
    await expect.poll(() => logCell.getByTestId('moe-lab-line').count(), { timeout: 120_000 }).toBe(1);
    await waitCell(page, 6, 'done', 120_000);
    expect(await logCell.getByTestId('moe-lab-line').innerText()).toMatch(/300 tokens/);
    await screenshot(page, 'moe-routing-log');
    expect(errors).toEqual([]);
  });
});
