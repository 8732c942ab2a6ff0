/**
 * The interpretability cells and the notebook's token selection end to end in headless Chromium
 * with WebGPU (SwiftShader; a missing adapter FAILS): on stories260K, a model view, a logit lens
 * and an activations explorer over one text; a token picked in the logit lens becomes the
 * notebook's selection, which the model view answers with that token's attention row and column
 * and the explorer with its channels; the selection survives a reload. Then the patching and DLA
 * cells show the Lily → " she" finding, and the explorer runs on the GPT-2 and Gemma 3 fixtures.
 * Screenshots go to test-artifacts/e2e/interp-*.png.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { archModelPaths } from '../helpers/arch-folders';
import { artifacts, cells, expectBackend, openPage, screenshot, useAppContext, waitCell } from './app-server';
import { addLastCell, storiesNotebook } from './notebook-steps';

const session = useAppContext();
let page: Page;
let errors: string[];

beforeAll(async () => {
  ({ page, errors } = await openPage(session.context, session.app.baseUrl));
});

/** Add a cell after the last one and wait until it has run. */
async function addAndRun(title: string, kind: string): Promise<number> {
  const n = await addLastCell(page, title, kind);
  // A new cell waits for its parameters: run it as it is.
  await page.getByRole('button', { name: `Run cell ${n + 1}` }).click();
  await waitCell(page, n, 'done', 180_000);
  return n;
}

describe('interpretability cells and the token selection', () => {
  it('a token selected in the logit lens is answered by the model view and the explorer, and survives a reload', async () => {
    await expectBackend(page, /WebGPU/);
    await storiesNotebook(page, 2); // 0 markdown, 1 model, 2 text
    await waitCell(page, 2, 'done');
    const view = await addAndRun('Model view', 'model-view');
    const lens = await addAndRun('Logit lens', 'logit-lens');
    const act = await addAndRun('Activations explorer', 'activations');

    const grid = cells(page).nth(lens).getByTestId('lens-grid');
    const canvas = grid.locator('canvas').first();
    await canvas.scrollIntoViewIfNeeded();
    const box = (await canvas.boundingBox())!;
    // Column 4 of the grid (the positions are the canvas's columns at zoom 1).
    const positions = Number(await grid.getAttribute('data-positions'));
    const x = box.x + box.width * ((4 + 0.5) / positions);
    const y = box.y + box.height * 0.5;
    await page.mouse.move(x, y);
    await expect.poll(() => cells(page).nth(lens).getByTestId('lens-hover').textContent()).toMatch(/after/);
    await page.mouse.click(x, y);
    await expect.poll(() => grid.getAttribute('data-selected')).toBe('4');

    const trajectory = cells(page).nth(lens).getByTestId('lens-trajectory');
    expect(await trajectory.getAttribute('data-position')).toBe('4');
    expect(await trajectory.locator('tbody tr').count()).toBe(6);
    const answer = cells(page).nth(view).getByTestId('model-view-selection');
    await expect.poll(() => answer.getAttribute('data-position')).toBe('4');
    expect(await answer.locator('li').count()).toBe(8); // one line per head of the layer
    const selected = cells(page).nth(act).getByTestId('activations-selected');
    await expect.poll(() => selected.getAttribute('data-position')).toBe('4');
    expect(await selected.textContent()).toMatch(/of channels near zero; largest: ch \d+/);
    await screenshot(page, 'interp-selection');

    await expect.poll(() => page.getByTestId('save-state').textContent()).toBe('Saved');
    await page.reload();
    await expectBackend(page, /WebGPU/);
    await waitCell(page, view, 'done', 180_000);
    await waitCell(page, lens, 'done', 180_000);
    await waitCell(page, act, 'done', 180_000);
    await expect
      .poll(() => cells(page).nth(lens).getByTestId('lens-grid').getAttribute('data-selected'))
      .toBe('4');
    await expect
      .poll(() => cells(page).nth(view).getByTestId('model-view-selection').getAttribute('data-position'))
      .toBe('4');
    await expect
      .poll(() => cells(page).nth(act).getByTestId('activations-selected').getAttribute('data-position'))
      .toBe('4');
    await cells(page).nth(act).scrollIntoViewIfNeeded();
    await screenshot(page, 'interp-activations-stories260K');
    expect(errors).toEqual([]);
  }, 600_000);

  it('patching and DLA on stories260K: the name reaches " she" through L2.H6 and layer 4', async () => {
    const patch = await addAndRun('Activation patching', 'activation-patching');
    const summary = cells(page).nth(patch).getByTestId('patching-summary');
    expect(await summary.textContent()).toMatch(/clean [2-9]\.\d+, corrupted -\d\.\d+/);
    expect(
      await cells(page).nth(patch).getByTestId('patching-positions').locator('canvas').count(),
    ).toBeGreaterThan(0);
    const dla = await addAndRun('Direct logit attribution', 'logit-attribution');
    const sum = cells(page).nth(dla).getByTestId('dla-sum');
    const parts = Number(await sum.getAttribute('data-sum'));
    const diff = Number(await sum.getAttribute('data-logit-diff'));
    expect(Math.abs(parts - diff)).toBeLessThan(1e-3);
    await cells(page).nth(patch).scrollIntoViewIfNeeded();
    await screenshot(page, 'interp-patching-dla-stories260K');
    // Element screenshots: the sticky toolbar would cover a cell's top.
    await page.addStyleTag({ content: 'header { position: static !important; }' });
    await cells(page)
      .nth(patch)
      .screenshot({ path: path.join(artifacts, 'interp-patching-cell-stories260K.png') });
    await cells(page)
      .nth(dla)
      .screenshot({ path: path.join(artifacts, 'interp-dla-cell-stories260K.png') });
    const finding: Record<string, string | number> = {
      patching: (await summary.textContent())!.trim(),
      positions: (await cells(page)
        .nth(patch)
        .getByTestId('patching-positions')
        .locator('h3')
        .textContent())!,
      dla: (await sum.textContent())!.replace(/\s+/g, ' ').trim(),
      dlaSum: parts,
      logitDiff: diff,
    };
    // Per head: the layers × heads grid.
    await cells(page).nth(patch).getByRole('combobox', { name: 'Patching hook' }).selectOption('attn.hook_z');
    await cells(page).nth(patch).getByRole('combobox', { name: 'Patching patch' }).selectOption('heads');
    await expect
      .poll(() => cells(page).nth(patch).getByTestId('patching-heads').count(), { timeout: 180_000 })
      .toBe(1);
    await waitCell(page, patch, 'done', 180_000);
    expect(await cells(page).nth(patch).getByTestId('patching-heads').textContent()).toMatch(
      /strongest: .*L2·H6/,
    );
    await cells(page).nth(patch).scrollIntoViewIfNeeded();
    await screenshot(page, 'interp-patching-heads-stories260K');
    await cells(page)
      .nth(patch)
      .screenshot({ path: path.join(artifacts, 'interp-patching-heads-cell-stories260K.png') });
    finding.heads = (await cells(page).nth(patch).getByTestId('patching-heads').locator('h3').textContent())!;
    finding.headsSummary = (await summary.textContent())!.trim();
    // The numbers of the finding, for the issue note.
    writeFileSync(path.join(artifacts, 'interp-finding-stories260K.json'), JSON.stringify(finding, null, 2));
    expect(errors).toEqual([]);
  }, 600_000);

  it.each(['gpt2', 'gemma3'] as const)(
    'the activations explorer on the %s fixture',
    async (name) => {
      // Only the markdown, model and text cells stay: nothing else re-runs on the new model.
      for (let n = await cells(page).count(); n > 3; n--)
        await page.getByRole('button', { name: `Delete cell ${n}` }).click();
      const model = cells(page).nth(1);
      await model.getByRole('radio', { name: 'Files' }).check();
      await model.getByTestId('model-files').setInputFiles(archModelPaths(name));
      await waitCell(page, 1, 'done', 180_000);
      const act = await addAndRun('Activations explorer', 'activations');
      const summary = cells(page).nth(act).getByTestId('activations-summary');
      expect(await summary.textContent()).toMatch(/blocks\.0\.hook_resid_post: \d+ tokens × \d+ channels/);
      await cells(page).nth(act).scrollIntoViewIfNeeded();
      await screenshot(page, `interp-activations-${name}`);
      expect(errors).toEqual([]);
    },
    300_000,
  );
});
