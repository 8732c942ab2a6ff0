/**
 * A SAELens skip transcoder in the SAE cell, end to end in headless Chromium with WebGPU
 * (SwiftShader; a missing adapter FAILS), on stories260K: files written here (seeded weights, from
 * layer 1's MLP input to its output) are imported, spliced in place of the MLP output and
 * evaluated; the cell names what it reads and replaces, and its metrics equal evaluateTranscoder's
 * on the CPU backend in Node. The feature browser refuses it clearly. Screenshot:
 * test-artifacts/e2e/sae-transcoder.png.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluateTranscoder } from '../../analyses/sae/evaluate';
import { loadPretrainedSae } from '../../analyses/sae/pretrained';
import { writeSafetensors } from '../../runtime/formats/safetensors-write';
import { artifacts, cells, expectBackend, openPage, useAppContext, waitCell } from './app-server';
import { addCell, stories, storiesNotebook } from './notebook-steps';
import { loadStories260K } from '../helpers/stories260k';

const D = 64;
const D_SAE = 32;

/** cfg.json and sae_weights.safetensors of a skip transcoder with seeded weights. */
function transcoderFiles(): Record<string, Uint8Array> {
  const rnd = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => 0.2 * Math.sin(i * s + 1));
  const tensors = [
    { name: 'W_enc', shape: [D, D_SAE], data: rnd(D * D_SAE, 0.7) },
    { name: 'b_enc', shape: [D_SAE], data: rnd(D_SAE, 1.3) },
    { name: 'W_dec', shape: [D_SAE, D], data: rnd(D_SAE * D, 0.9) },
    { name: 'b_dec', shape: [D], data: rnd(D, 2.1) },
    { name: 'W_skip', shape: [D, D], data: rnd(D * D, 0.4) },
  ];
  const cfg = {
    architecture: 'skip_transcoder',
    d_in: D,
    d_out: D,
    d_sae: D_SAE,
    hook_name: 'blocks.1.ln2.hook_normalized',
    hook_name_out: 'blocks.1.hook_mlp_out',
  };
  return {
    'cfg.json': new TextEncoder().encode(JSON.stringify(cfg)),
    'sae_weights.safetensors': writeSafetensors(tensors.map((t) => ({ ...t, dtype: 'F32' as const }))),
  };
}

const session = useAppContext();

describe('a transcoder in the SAE cell', () => {
  it('imports, splices in place of the MLP output and shows the metrics evaluateTranscoder gives', async () => {
    const files = transcoderFiles();
    const dir = mkdtempSync(path.join(tmpdir(), 'sb-transcoder-'));
    const paths = Object.entries(files).map(([name, bytes]) => {
      const p = path.join(dir, name);
      writeFileSync(p, bytes);
      return p;
    });
    const { model, tokenizer } = loadStories260K();
    const load = loadPretrainedSae(files);
    if (load.type !== 'transcoder') throw new Error('expected a transcoder');
    const want = await evaluateTranscoder(model, tokenizer, stories(3), load.transcoder, { maxWindows: 1 });

    const { page, errors } = await openPage(session.context, session.app.baseUrl);
    await expectBackend(page, /WebGPU/);
    await storiesNotebook(page, 3);
    await addCell(page, 'SAE');
    const sae = cells(page).nth(3);
    await sae.getByRole('radio', { name: 'import SAELens' }).check();
    await sae.getByRole('spinbutton', { name: 'Held-out windows', exact: true }).fill('1');
    await sae.getByRole('spinbutton', { name: 'Held-out windows', exact: true }).blur();
    await sae.getByLabel('SAELens files').setInputFiles(paths);
    await waitCell(page, 3, 'done', 120_000);

    const summary = sae.getByTestId('sae-summary');
    expect(await summary.getAttribute('data-transcoder')).toBe('blocks.1.hook_mlp_out');
    expect(await summary.textContent()).toMatch(
      /Skip transcoder \(skip_transcoder, ReLU \+ L1\) from blocks\.1\.ln2\.hook_normalized to blocks\.1\.hook_mlp_out, in place of the MLP output/,
    );
    const evaluation = sae.getByTestId('sae-evaluation');
    expect(Number(await evaluation.getAttribute('data-recovered'))).toBeCloseTo(want.loss_recovered, 3);
    expect(Number(await evaluation.getAttribute('data-ev'))).toBeCloseTo(want.explained_variance, 3);
    expect(Number(await evaluation.getAttribute('data-l0'))).toBeCloseTo(want.l0, 2);
    const row = (label: string) => evaluation.locator('tr', { hasText: label }).locator('td').last();
    expect(Number(await row('Loss, transcoder in place of the MLP').textContent())).toBeCloseTo(
      want.loss_spliced,
      3,
    );
    expect(Number(await row('Loss, MLP output zero-ablated').textContent())).toBeCloseTo(
      want.loss_zero_ablated,
      3,
    );
    const kl = (await row('KL score (SAELens)').textContent())!;
    expect(kl).toMatch(/%$/);
    expect(Number(kl.slice(0, -1))).toBeCloseTo(want.kl_div_score * 100, 0);
    await sae.scrollIntoViewIfNeeded();
    await sae.screenshot({ path: path.join(artifacts, 'sae-transcoder.png') });

    // The feature browser reads SAEs, and says so.
    await sae.focus();
    await addCell(page, 'SAE features');
    await page.getByRole('button', { name: 'Run cell 5' }).click();
    await expect
      .poll(() => cells(page).nth(4).getAttribute('data-cell-status'), { timeout: 60_000 })
      .toBe('error');
    expect(await cells(page).nth(4).getByTestId('error').textContent()).toMatch(
      /holds a transcoder \(blocks\.1\.ln2\.hook_normalized → blocks\.1\.hook_mlp_out\); the feature browser reads SAEs/,
    );
    expect(errors).toEqual([]);
  }, 300_000);
});
