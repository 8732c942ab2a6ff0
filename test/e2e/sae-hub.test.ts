/**
 * A pretrained SAE opened by hub id in the built app, through the local hub stand-in started here
 * (the SAE cell's hub settings point at it), on the bundled sparsebook-dense model in Chromium on
 * WebGPU. The SAELens folders are generated at test time: an SAE built to reconstruct exactly
 * (EV 1, L0 = d_in, loss recovered 1), one whose d_in does not fit, and the res-jb release's
 * folder. The SAE cell shows the download's progress (Cancel stops it at once) and the metrics; a d_in mismatch is an error
 * in the cell naming the file; the features cell lists the features, a feature card shows its
 * contexts and links to its Neuronpedia page; a page reload opens the SAE from the browser cache
 * (the stand-in sees ETag checks only); a release picked from the menu loads its folder with the
 * release's Neuronpedia id; the features cell, re-running after the reload, runs again when the
 * SAE changes under it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { modelKind } from '../../app/cells/model/model-kind';
import { saeFeaturesKind } from '../../app/cells/sae-features/sae-features-kind';
import { saeKind } from '../../app/cells/sae/sae-kind';
import { NOTEBOOK_FORMAT, NOTEBOOK_VERSION, type NotebookDoc } from '../../app/notebook/document';
import { encodeShareHash } from '../../app/notebook/share-link';
import { exactSae, saeLensFolder } from '../analyses/sae/exact-saes';
import { startHubServer, type HubServer } from '../helpers/hub-server';
import {
  type AppServer,
  artifacts,
  cells,
  expectBackend,
  newAppContext,
  openPage,
  startApp,
  waitCell,
} from './app-server';
import { stories } from './notebook-steps';

const work = mkdtempSync(path.join(tmpdir(), 'sparsebook-e2e-sae-hub-'));
/** sparsebook-dense's residual width. */
const D = 128;
const HOOK = 'blocks.1.hook_resid_post';
const SAE_ID = 'hf:test/saes/blocks.1.hook_resid_post';

let app: AppServer;
let hub: HubServer;

function folder(name: string, files: Record<string, Uint8Array>): void {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  for (const [f, bytes] of Object.entries(files)) writeFileSync(path.join(dir, f), bytes);
}

/** A pairs SAE (exact on every input) of width d: L0 = d. */
const pairs = (d: number) =>
  exactSae(
    Float32Array.from({ length: 8 * d }, (_, i) => Math.sin(i * 0.61)),
    d,
    { construction: 'pairs', applyBDec: true },
  );

beforeAll(async () => {
  [app, hub] = await Promise.all([startApp(), startHubServer()]);
  const np = { neuronpedia_id: 'sparsebook-dense/1-res-test' };
  folder('saes/blocks.1.hook_resid_post', saeLensFolder(pairs(D), { hook_name: HOOK, ...np }));
  folder('saes/wide', saeLensFolder(pairs(48), { hook_name: HOOK }));
  hub.add('test/saes', { dir: path.join(work, 'saes') });
  folder('jb/blocks.8.hook_resid_pre', saeLensFolder(pairs(D), { hook_name: 'blocks.8.hook_resid_pre' }));
  hub.add('jbloom/GPT2-Small-SAEs-Reformatted', { dir: path.join(work, 'jb') });
});
afterAll(async () => {
  await app?.close();
  await hub?.close();
  rmSync(work, { recursive: true, force: true });
});
beforeEach(() => {
  hub.bytesPerSecond = 0;
  hub.log.length = 0;
});

/** Bundled model, a text, an SAE cell on the hub (no id yet) and a features cell. */
function notebookUrl(): string {
  const doc: NotebookDoc = {
    format: NOTEBOOK_FORMAT,
    version: NOTEBOOK_VERSION,
    title: 'Pretrained SAE',
    cells: [
      { id: 'model', kind: 'model', params: modelKind.defaults(), inputs: {} },
      { id: 'text', kind: 'text', params: { name: 'stories', text: stories(40) }, inputs: {} },
      {
        id: 'sae',
        kind: 'sae',
        params: { ...saeKind.defaults(), source: 'hub', hubSae: '', evalWindows: 1 },
        inputs: { model: 'model', text: 'text' },
      },
      {
        id: 'features',
        kind: 'sae-features',
        params: { ...saeFeaturesKind.defaults(), maxWindows: 2, topN: 4 },
        inputs: { sae: 'sae', text: 'text' },
      },
    ],
  };
  return `${app.baseUrl}${encodeShareHash(doc)}`;
}

const saeCell = (page: Page) => cells(page).nth(2);
const status = async (page: Page) => (await saeCell(page).getByTestId('cell-status').textContent()) ?? '';

async function setSae(page: Page, id: string): Promise<void> {
  const input = saeCell(page).getByTestId('sae-hub-id');
  await input.fill(id);
  await input.press('Enter');
}

/** Run the features cell (it waited for the SAE cell when the notebook opened). */
async function runFeatures(page: Page): Promise<void> {
  const cell = cells(page).nth(3);
  if ((await cell.getAttribute('data-cell-status')) !== 'running') {
    await page.getByRole('button', { name: 'Run cell 4' }).click();
  }
  await waitCell(page, 3, 'done', 120_000);
}

describe('a pretrained SAE opened by hub id in the SAE cell', () => {
  it('downloads with progress, evaluates exactly, browses with Neuronpedia links, reloads from the cache; a release from the menu', async () => {
    const context = await newAppContext(app);
    try {
      const { page, errors } = await openPage(context, notebookUrl());
      await expectBackend(page, /WebGPU/);
      await waitCell(page, 0, 'done');
      const sae = saeCell(page);
      await expect.poll(() => status(page)).toMatch(/give a Hugging Face SAE id or pick a release/);
      await sae.locator('summary', { hasText: 'Hub settings' }).click();
      const endpoint = sae.getByTestId('hub-endpoint');
      await endpoint.fill(hub.endpoint);
      await endpoint.press('Enter');

      // An SAE of another width: a clear error in the cell naming the file.
      await setSae(page, 'hf:test/saes/wide');
      await expect.poll(() => sae.getAttribute('data-cell-status'), { timeout: 60_000 }).toBe('error');
      expect(await sae.getByTestId('error').innerText()).toMatch(
        /hf:test\/saes\/wide\/cfg\.json[\s\S]*d_in is 48 but the activations at blocks\.1\.hook_resid_post have width 128/,
      );

      // The exact SAE, sent slowly: the progress shows the bytes, then the metrics.
      hub.bytesPerSecond = 60_000;
      await setSae(page, SAE_ID);
      await expect
        .poll(() => status(page), { timeout: 30_000 })
        .toMatch(/Downloading sae_weights\.safetensors · [\d.]+ of [\d.]+ MB/);
      // Cancel stops the transfer at once (the requests in flight are dropped).
      const t0 = Date.now();
      await page.getByRole('button', { name: 'Cancel cell 3' }).click();
      await expect.poll(() => sae.getAttribute('data-cell-status'), { timeout: 5000 }).not.toBe('running');
      expect(Date.now() - t0).toBeLessThan(3000);
      await expect
        .poll(() => hub.log.some((q) => q.file.endsWith('sae_weights.safetensors') && q.aborted), {
          timeout: 3000,
        })
        .toBe(true);
      hub.bytesPerSecond = 0;
      await page.getByRole('button', { name: 'Run cell 3' }).click();
      await waitCell(page, 2, 'done', 120_000);
      const evaluation = sae.getByTestId('sae-evaluation');
      const ev = Number(await evaluation.getAttribute('data-ev'));
      const l0 = Number(await evaluation.getAttribute('data-l0'));
      const recovered = Number(await evaluation.getAttribute('data-recovered'));
      console.log(`[sae hub e2e] exact SAE by id: EV ${ev}, L0 ${l0}, loss recovered ${recovered}`);
      expect(ev).toBeCloseTo(1, 4);
      expect(l0).toBe(D);
      expect(recovered).toBeCloseTo(1, 3);
      expect(await sae.getByTestId('sae-summary').innerText()).toMatch(
        /standard \(saelens\) at blocks\.1\.hook_resid_post: 256 latents over d_in 128/,
      );
      expect(await sae.getByTestId('sae-hub-summary').innerText()).toMatch(
        /hf:test\/saes\/blocks\.1\.hook_resid_post, cfg\.json \+ sae_weights\.safetensors: .* downloaded/,
      );
      const weightGets = hub.log.filter(
        (q) => q.method === 'GET' && q.file.endsWith('sae_weights.safetensors'),
      );
      expect(weightGets.length).toBeGreaterThan(1);
      expect(weightGets.every((q) => q.status === 206)).toBe(true);

      // Browsed like a trained SAE: the list, a card with its contexts and its Neuronpedia page.
      const features = cells(page).nth(3);
      await runFeatures(page);
      const list = features.getByTestId('sae-feature-list');
      expect(await list.getByTestId('sae-feature-row').count()).toBeGreaterThan(10);
      const top = await list.getByTestId('sae-feature-row').first().getAttribute('data-feature');
      await list.getByRole('button', { name: `Open feature ${top}`, exact: true }).click();
      const card = features.getByTestId('sae-feature-card');
      await expect
        .poll(() => card.getByTestId('sae-context').count(), { timeout: 60_000 })
        .toBeGreaterThan(0);
      const link = card.getByTestId('sae-neuronpedia');
      expect(await link.getAttribute('href')).toBe(
        `https://www.neuronpedia.org/sparsebook-dense/1-res-test/${top}`,
      );
      expect(await link.getAttribute('target')).toBe('_blank');
      expect(await link.getAttribute('rel')).toBe('noopener noreferrer');
      await features.screenshot({ path: path.join(artifacts, 'sae-hub-features.png') });

      // A release from the menu: its hook (blocks.8) is not in this 4-block model until overridden.
      await saeCell(page).getByRole('combobox', { name: 'SAE release' }).selectOption({
        label: 'GPT-2 small · res-jb · layer 8',
      });
      await expect
        .poll(() => saeCell(page).getAttribute('data-cell-status'), { timeout: 60_000 })
        .toBe('error');
      expect(await saeCell(page).getByTestId('error').innerText()).toMatch(
        /GPT2-Small-SAEs-Reformatted\/blocks\.8\.hook_resid_pre\/cfg\.json[\s\S]*the SAE reads blocks\.8\.hook_resid_pre, which this model does not have/,
      );
      await saeCell(page).getByRole('combobox', { name: 'Hook' }).selectOption(HOOK);
      await waitCell(page, 2, 'done', 120_000);
      expect(await saeCell(page).getByTestId('sae-hub-summary').innerText()).toMatch(
        /GPT-2 small · res-jb · layer 8: hf:jbloom\/GPT2-Small-SAEs-Reformatted\/blocks\.8\.hook_resid_pre/,
      );
      await runFeatures(page);
      const row = await list.getByTestId('sae-feature-row').first().getAttribute('data-feature');
      await features
        .getByTestId('sae-feature-list')
        .getByRole('button', { name: `Open feature ${row}`, exact: true })
        .click();
      await expect
        .poll(() => cells(page).nth(3).getByTestId('sae-neuronpedia').getAttribute('href'), {
          timeout: 60_000,
        })
        .toBe(`https://www.neuronpedia.org/gpt2-small/8-res-jb/${row}`);

      // A reload: the SAE opens again from the browser cache, its evaluation kept.
      hub.log.length = 0;
      await page.reload();
      // The restored result shows at once; the SAE is then opened again in the worker, which asks
      // the hub for its files' ETags (HEAD) and reads them from the browser cache. Wait for that
      // re-opening to finish: the cell's status and its status line are two reads, so "done" alone
      // can pair the restored state with the next one's line.
      const reopened = () => hub.log.some((q) => q.method === 'HEAD');
      await expect
        .poll(
          async () =>
            reopened()
              ? `${await saeCell(page).getAttribute('data-cell-status')} ${await status(page)}`
              : 'not opened again yet',
          { timeout: 120_000 },
        )
        .toMatch(/^done (?![\s\S]*restored)/);
      expect(hub.log.filter((q) => q.method === 'GET')).toEqual([]);
      expect(await saeCell(page).getByTestId('sae-hub-summary').innerText()).toMatch(
        /read from the browser cache/,
      );
      expect(Number(await saeCell(page).getByTestId('sae-evaluation').getAttribute('data-ev'))).toBeCloseTo(
        1,
        4,
      );
      // The features cell re-runs its browse after the reload; the SAE changing under it while it
      // runs aborts that run and starts another (it is not left running with nothing queued).
      await setSae(page, `${SAE_ID}/sae_weights.safetensors`);
      await waitCell(page, 2, 'done', 120_000);
      await waitCell(page, 3, 'done', 120_000);
      expect(await cells(page).nth(3).getByTestId('sae-feature-row').count()).toBeGreaterThan(10);

      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 400_000);
});
