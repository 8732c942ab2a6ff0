/**
 * One token selection across the lenses, end to end in headless Chromium with WebGPU (SwiftShader;
 * a missing adapter FAILS), on the bundled micro MoE: a token picked in the model view's loss strip
 * becomes the notebook's selection and is answered by the attention view (the token's row and
 * column per head), an SAE features cell (its active features, from an SAE imported as SAELens
 * files written here), a pruning sweep (its loss dense and under the chosen point), an attention
 * mask (its loss dense and with the mask in every layer) and the MoE lab (its experts per layer). A token picked in the pruning strip, the MoE token → expert map or a
 * feature's top context moves the selection for every cell. Each answer is checked against the
 * same quantity computed here in Node on the CPU backend. The selection survives a reload, travels
 * in the share link and drives an embed of the model view made from that link; so it does in an
 * exported report (opened from file://) and the report's one-cell embed. Screenshots:
 * test-artifacts/e2e/selection-*.png.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { promptLatents } from '../../analyses/sae/features';
import { decodeShareHash } from '../../app/notebook/share-link';
import { initSaeParams } from '../../analyses/sae/init';
import { exportSaeLens } from '../../analyses/sae/saelens';
import type { SaeConfig } from '../../analyses/sae/types';
import { parseSparsities } from '../../analyses/pruning/sparsities';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { loadModelFiles } from '../../runtime';
import type { Hook } from '../../runtime/hooks';
import { moeTokenRouteJob } from '../../workers/moe-lab-jobs';
import { PruningStore, pruningSweepJob, pruningTokenLossJob } from '../../workers/pruning-jobs';
import { maskTokenLossJob } from '../../workers/attention-jobs';
import { artifacts, cells, expectBackend, openPage, screenshot, useAppContext, waitCell } from './app-server';
import { addLastCell } from './notebook-steps';

const root = path.resolve(import.meta.dirname, '../..');
const micro = path.join(root, 'public/models/sparsebook-moe-micro');
const emails = readFileSync(path.join(root, 'public/models/corpus/valid-email.txt'), 'utf8')
  .split('\n<|endoftext|>\n')
  .slice(0, 4);
const TEXT = emails.join('\n<|endoftext|>\n');
/** The selected token: document 1, position 7. */
const DOC = 1;
const POS = 7;
const HOOK = 'blocks.1.hook_resid_post';
/** The attention mask cell's point: top-k keeping a quarter of the causal entries. */
const MASK = { family: 'topk', budget: 0.25 };

const { model, tokenizer } = loadModelFiles(
  createCpuBackend(),
  ['config.json', 'model.safetensors', 'tokenizer.bin'].map((name) => ({
    name,
    bytes: new Uint8Array(readFileSync(path.join(micro, name))),
  })),
);
const saeCfg: SaeConfig = { kind: 'topk', dIn: 128, dSae: 256, k: 8, hookName: HOOK, normalizeDecoder: true };
const saeParams = initSaeParams(saeCfg, 11);

const session = useAppContext({ acceptDownloads: true });
let page: Page;
let errors: string[];
let saeFiles: string[];

beforeAll(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-selection-'));
  const files = exportSaeLens(saeCfg, saeParams, { modelName: 'sparsebook-moe-micro' });
  saeFiles = [path.join(dir, 'cfg.json'), path.join(dir, 'sae_weights.safetensors')];
  writeFileSync(saeFiles[0]!, files.cfgJson);
  writeFileSync(saeFiles[1]!, files.weights);
  ({ page, errors } = await openPage(session.context, session.app.baseUrl));
});

/** Add a cell after the last one; returns its index. */
const addLast = (title: string, kind: string) => addLastCell(page, title, kind);

/** Export the notebook as a report through the toolbar; returns the saved file's path. */
async function exportReport(from: Page): Promise<string> {
  const download = from.waitForEvent('download');
  await from.getByRole('button', { name: 'Export report' }).click();
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'sb-selection-report-')), 'nb.report.html');
  await (await download).saveAs(file);
  return file;
}

async function setNumber(cell: number, name: string, value: string): Promise<void> {
  const box = cells(page).nth(cell).getByRole('spinbutton', { name, exact: true });
  await box.fill(value);
  await box.blur();
}

/** `a:b,c:d` pairs of a data attribute. */
const pairs = (s: string | null) =>
  (s ?? '')
    .split(',')
    .filter(Boolean)
    .map((p) => p.split(':').map(Number) as [number, number]);

/** What Node computes for the selected token, on the CPU backend. */
async function expected() {
  const doc = emails[DOC]!.trim();
  // The model view reads the document cut to the model's context.
  const tokens = tokenizer.encode(doc, { bos: true, source: 'prompt' }).subarray(0, model.config.seqLen);
  // Attention pattern of layer 0 (the model view's layer): the token's row per head.
  let pattern: Float32Array | undefined;
  let shape: readonly number[] = [];
  const hooks: Record<string, Hook> = {
    'blocks.0.attn.hook_pattern': async (t) => {
      pattern = Float32Array.from(await model.backend.read(t));
      shape = t.shape;
    },
  };
  model.backend.dispose(await model.forward(tokens, { hooks }));
  const [H, T] = shape as [number, number];
  const rows = Array.from({ length: H }, (_, h) =>
    Array.from(pattern!.subarray(h * T * T + POS * T, h * T * T + POS * T + POS + 1)),
  );
  const features = (
    await promptLatents(model, tokenizer, { cfg: saeCfg, params: saeParams }, doc, { top: 8 })
  )[POS]!.features;
  const route = await moeTokenRouteJob(model, tokenizer, { text: doc, position: POS });
  const store = new PruningStore();
  const sweep = await pruningSweepJob(model, tokenizer, store, {
    cellId: 'x',
    text: TEXT,
    methods: ['magnitude'],
    patterns: ['unstructured'],
    sparsities: parseSparsities([0.5]),
    calibrationWindows: 1,
    maxWindows: 1,
    allocation: 'uniform',
  });
  const losses = await pruningTokenLossJob(store, tokenizer, {
    cellId: 'x',
    sweepId: sweep.summary.sweepId,
    variant: 0,
    text: doc,
  });
  const loss = (t: import('apache-arrow').Table, at = POS) => t.getChild('loss')!.get(at) as number;
  const masked = await maskTokenLossJob(model, tokenizer, { text: doc, ...MASK });
  return {
    mask: { dense: loss(masked.dense), masked: loss(masked.masked) },
    rows,
    features,
    route,
    dense: loss(losses.dense),
    pruned: loss(losses.pruned),
    prunedAt: (position: number) => loss(losses.pruned, position),
    token: tokens[POS],
  };
}

describe('the notebook token selection', () => {
  it('a token picked in the loss strip is answered by the attention, SAE features, pruning and MoE cells, and survives a reload', async () => {
    const want = await expected();
    await expectBackend(page, /WebGPU/);
    // 0 markdown, 1 model → the bundled micro MoE, 2 text → four e-mails, 3 model view.
    await cells(page)
      .nth(1)
      .getByRole('combobox', { name: 'Bundled model' })
      .selectOption('sparsebook-moe-micro');
    await waitCell(page, 1, 'done', 180_000);
    const text = cells(page).nth(2).getByRole('textbox');
    await text.fill(TEXT);
    await text.blur();
    await setNumber(3, 'Document', String(DOC));
    await waitCell(page, 3, 'done', 120_000);

    // An SAE imported from SAELens files, and its feature browser over one window.
    const sae = await addLast('SAE', 'sae');
    await cells(page).nth(sae).getByRole('radio', { name: 'import SAELens' }).check();
    await setNumber(sae, 'Held-out windows', '1');
    await cells(page).nth(sae).getByLabel('SAELens files').setInputFiles(saeFiles);
    await waitCell(page, sae, 'done', 120_000);
    const features = await addLast('SAE features', 'sae-features');
    await setNumber(features, 'Windows', '1');
    await waitCell(page, features, 'done', 120_000);

    // A pruning sweep with one point: magnitude, unstructured, 50%.
    const prune = await addLast('Pruning sweep', 'pruning-sweep');
    const sweep = cells(page).nth(prune);
    for (const name of ['Eval windows', 'Calibration windows']) await setNumber(prune, name, '1');
    for (const m of ['wanda', 'sparsegpt'])
      await sweep.getByRole('checkbox', { name: m, exact: true }).uncheck();
    await sweep.getByRole('checkbox', { name: '2:4', exact: true }).uncheck();
    await sweep.getByRole('textbox', { name: 'Sparsities' }).fill('0.5');
    await sweep.getByRole('textbox', { name: 'Sparsities' }).blur();
    await expect
      .poll(() => sweep.getByTestId('pruning-summary').getAttribute('data-points'), { timeout: 180_000 })
      .toBe('2');
    await waitCell(page, prune, 'done', 180_000);

    // The MoE lab over a little of the bundled corpus.
    const lab = await addLast('MoE lab', 'moe-lab');
    await setNumber(lab, 'Tokens per domain', '64');
    await waitCell(page, lab, 'done', 180_000);

    // An attention mask: top-k at a quarter of the entries.
    const maskCell = await addLast('Attention mask', 'attention-mask');
    await cells(page).nth(maskCell).getByRole('combobox', { name: 'Family' }).selectOption(MASK.family);
    await setNumber(maskCell, 'Budget', String(MASK.budget));
    await expect
      .poll(() => cells(page).nth(maskCell).getByTestId('mask-numbers').count(), { timeout: 120_000 })
      .toBe(1);
    await waitCell(page, maskCell, 'done', 120_000);

    // Pick token 7 in the model view's per-token loss strip.
    const view = cells(page).nth(3);
    await view.locator(`.sb-token[data-index="${POS}"]`).first().click();
    await waitCell(page, 3, 'done', 120_000);
    await expect
      .poll(() => view.locator('.sb-token[aria-current="true"]').getAttribute('data-index'))
      .toBe(String(POS));

    // Attention: one line per head, the token's strongest keys as Node computes them.
    const attention = view.getByTestId('model-view-selection');
    await expect.poll(() => attention.getAttribute('data-position')).toBe(String(POS));
    const heads = attention.locator('li');
    expect(await heads.count()).toBe(want.rows.length);
    for (const [h, row] of want.rows.entries()) {
      const shown = pairs(await heads.nth(h).getAttribute('data-row'));
      expect(shown.length).toBe(Math.min(3, POS + 1));
      for (const [p, w] of shown) expect(w).toBeCloseTo(row[p]!, 4);
      const best = Math.max(...row);
      expect(shown[0]![1]).toBeCloseTo(best, 4);
    }

    // SAE features: the selected token's active features and activations.
    const saeAnswer = cells(page).nth(features).getByTestId('sae-selection');
    await expect.poll(() => saeAnswer.getAttribute('data-position'), { timeout: 60_000 }).toBe(String(POS));
    const shownFeatures = pairs(await saeAnswer.getAttribute('data-features'));
    expect(shownFeatures.length).toBe(want.features.length);
    for (const [i, f] of want.features.slice(0, 5).entries()) {
      expect(shownFeatures[i]![0]).toBe(f.feature);
      expect(shownFeatures[i]![1]).toBeCloseTo(f.activation, 3);
    }

    // Pruning: the token's loss dense and under the point.
    const pruneAnswer = sweep.getByTestId('pruning-selection');
    await expect.poll(() => pruneAnswer.getAttribute('data-position'), { timeout: 60_000 }).toBe(String(POS));
    expect(Number(await pruneAnswer.getAttribute('data-dense'))).toBeCloseTo(want.dense, 3);
    expect(Number(await pruneAnswer.getAttribute('data-changed'))).toBeCloseTo(want.pruned, 3);
    expect(await pruneAnswer.getByTestId('pruning-selection-delta').textContent()).toContain(
      `${want.dense.toFixed(3)} → ${want.pruned.toFixed(3)}`,
    );
    expect(await pruneAnswer.locator('.sb-token[aria-current="true"]').getAttribute('data-index')).toBe(
      String(POS),
    );

    // MoE: the token's experts per layer.
    const moeAnswer = cells(page).nth(lab).getByTestId('moe-selection');
    await expect.poll(() => moeAnswer.getAttribute('data-position'), { timeout: 60_000 }).toBe(String(POS));
    const layers = moeAnswer.locator('tbody tr');
    expect(await layers.count()).toBe(want.route.layers.length);
    for (const [l, r] of want.route.layers.entries()) {
      expect(await layers.nth(l).getAttribute('data-experts')).toBe(r.experts.join(','));
      const gates = ((await layers.nth(l).getAttribute('data-gates')) ?? '').split(',').map(Number);
      for (const [i, g] of r.gates.entries()) expect(gates[i]).toBeCloseTo(g, 3);
      // The document's token → expert map outlines the token, coloured by its first choice.
      const chip = moeAnswer
        .getByTestId('moe-selection-map')
        .locator('.map-row')
        .nth(l)
        .locator(`.tok[data-token="${POS}"]`);
      expect(await chip.getAttribute('data-expert')).toBe(String(r.experts[0]));
      expect(await chip.getAttribute('aria-current')).toBe('true');
    }
    // Attention mask: the token's loss dense and with the mask in every layer.
    const maskAnswer = cells(page).nth(maskCell).getByTestId('mask-selection');
    await expect.poll(() => maskAnswer.getAttribute('data-position'), { timeout: 60_000 }).toBe(String(POS));
    expect(Number(await maskAnswer.getAttribute('data-dense'))).toBeCloseTo(want.mask.dense, 3);
    expect(Number(await maskAnswer.getAttribute('data-changed'))).toBeCloseTo(want.mask.masked, 3);
    expect(await maskAnswer.getByTestId('mask-selection-delta').textContent()).toContain(
      `${want.mask.dense.toFixed(3)} → ${want.mask.masked.toFixed(3)}`,
    );

    await view.scrollIntoViewIfNeeded();
    await screenshot(page, 'selection-answers');
    // Element screenshots: the sticky toolbar would cover a cell's top.
    await page.addStyleTag({ content: 'header { position: static !important; }' });
    for (const [name, answer] of [
      ['attention', attention],
      ['sae-features', saeAnswer],
      ['pruning', pruneAnswer],
      ['attention-mask', maskAnswer],
      ['moe', moeAnswer],
    ] as const)
      await answer.screenshot({ path: path.join(artifacts, `selection-${name}.png`) });

    // A token picked in the pruning cell's strip moves the selection for every cell.
    await pruneAnswer.locator(`.sb-token[data-index="${POS + 2}"]`).click();
    await expect
      .poll(() => moeAnswer.getAttribute('data-position'), { timeout: 60_000 })
      .toBe(String(POS + 2));
    await expect.poll(() => attention.getAttribute('data-position')).toBe(String(POS + 2));
    // So does the MoE cell's token → expert map.
    await moeAnswer
      .locator(`.map-row .tok[data-token="${POS + 1}"]`)
      .first()
      .click();
    await expect.poll(() => attention.getAttribute('data-position')).toBe(String(POS + 1));
    await expect.poll(() => pruneAnswer.getAttribute('data-position')).toBe(String(POS + 1));
    await expect.poll(() => maskAnswer.getAttribute('data-position')).toBe(String(POS + 1));
    // So does a feature's top context: open the selected token's strongest feature, pick its first context.
    await saeAnswer
      .getByRole('button', { name: /^Open feature/ })
      .first()
      .click();
    const topContext = cells(page).nth(features).getByTestId('sae-context').first();
    await expect.poll(() => topContext.count(), { timeout: 60_000 }).toBe(1);
    const contextDoc = Number(await topContext.getAttribute('data-document'));
    const contextPos = await topContext.getAttribute('data-position');
    await topContext.getByRole('button', { name: /^Select this context's token/ }).click();
    await expect.poll(() => topContext.getByRole('button').first().getAttribute('aria-pressed')).toBe('true');
    await expect
      .poll(() => moeAnswer.getAttribute('data-position'), { timeout: 60_000 })
      .toBe(String(contextPos));
    expect(await moeAnswer.locator('h3').textContent()).toContain(
      `document ${contextDoc}, position ${contextPos}`,
    );
    await cells(page).nth(features).scrollIntoViewIfNeeded();
    await screenshot(page, 'selection-from-feature-context');
    await view.locator(`.sb-token[data-index="${POS}"]`).first().click();
    await waitCell(page, 3, 'done', 120_000);
    await expect.poll(() => moeAnswer.getAttribute('data-position'), { timeout: 60_000 }).toBe(String(POS));

    // A report made now keeps every cell's answer to the selection: opened from file://, with no
    // worker or model, the SAE, pruning, mask and MoE cells show the same answers.
    for (const answer of [saeAnswer, pruneAnswer, maskAnswer]) {
      await expect.poll(() => answer.getAttribute('data-position'), { timeout: 60_000 }).toBe(String(POS));
    }
    const liveAnswers = {
      features: await saeAnswer.getAttribute('data-features'),
      pruning: [await pruneAnswer.getAttribute('data-dense'), await pruneAnswer.getAttribute('data-changed')],
      mask: [await maskAnswer.getAttribute('data-dense'), await maskAnswer.getAttribute('data-changed')],
      experts: await moeAnswer.locator('tbody tr').first().getAttribute('data-experts'),
    };
    const answered = await openPage(session.context, pathToFileURL(await exportReport(page)).href);
    const inReportCell = (i: number) => cells(answered.page).nth(i);
    await expect
      .poll(() => cells(answered.page).count(), { timeout: 30_000 })
      .toBe(await cells(page).count());
    const reportSae = inReportCell(features).getByTestId('sae-selection');
    await expect.poll(() => reportSae.getAttribute('data-position'), { timeout: 30_000 }).toBe(String(POS));
    expect(await reportSae.getAttribute('data-features')).toBe(liveAnswers.features);
    const reportPrune = inReportCell(prune).getByTestId('pruning-selection');
    await expect.poll(() => reportPrune.getAttribute('data-position')).toBe(String(POS));
    expect([
      await reportPrune.getAttribute('data-dense'),
      await reportPrune.getAttribute('data-changed'),
    ]).toEqual(liveAnswers.pruning);
    const reportMask = inReportCell(maskCell).getByTestId('mask-selection');
    await expect.poll(() => reportMask.getAttribute('data-position')).toBe(String(POS));
    expect([
      await reportMask.getAttribute('data-dense'),
      await reportMask.getAttribute('data-changed'),
    ]).toEqual(liveAnswers.mask);
    const reportMoe = inReportCell(lab).getByTestId('moe-selection');
    await expect.poll(() => reportMoe.getAttribute('data-position')).toBe(String(POS));
    expect(await reportMoe.locator('tbody tr').first().getAttribute('data-experts')).toBe(
      liveAnswers.experts,
    );
    await screenshot(answered.page, 'selection-report-answers');
    // The pruning strip covers the whole document: another of its tokens is answered in the report
    // too (its loss under the point, as Node computes it).
    await reportPrune.locator(`.sb-token[data-index="${POS + 2}"]`).click();
    await expect.poll(() => reportPrune.getAttribute('data-position')).toBe(String(POS + 2));
    expect(Number(await reportPrune.getAttribute('data-changed'))).toBeCloseTo(want.prunedAt(POS + 2), 3);
    await answered.page.close();
    expect(answered.errors).toEqual([]);

    // Reload: the selection comes back with the notebook.
    await expect.poll(() => page.getByTestId('save-state').textContent()).toBe('Saved');
    await page.reload();
    await expectBackend(page, /WebGPU/);
    await waitCell(page, 1, 'done', 180_000);
    await waitCell(page, 3, 'done', 120_000);
    await expect
      .poll(() => cells(page).nth(3).getByTestId('model-view-selection').getAttribute('data-position'))
      .toBe(String(POS));
    await expect
      .poll(() => cells(page).nth(3).locator('.sb-token[aria-current="true"]').getAttribute('data-index'))
      .toBe(String(POS));
    const moeAgain = cells(page).nth(lab).getByTestId('moe-selection');
    await expect.poll(() => moeAgain.getAttribute('data-position'), { timeout: 120_000 }).toBe(String(POS));
    expect(await moeAgain.locator('tbody tr').first().getAttribute('data-experts')).toBe(
      want.route.layers[0]!.experts.join(','),
    );
    // The SAE and the pruned points lived in the worker: the cells still name the selected token.
    expect(await cells(page).nth(features).getByTestId('sae-selection').textContent()).toContain(
      `position ${POS}`,
    );
    expect(await cells(page).nth(prune).getByTestId('pruning-selection').textContent()).toContain(
      `position ${POS}`,
    );
    await screenshot(page, 'selection-after-reload');

    // The share link carries it, and an embed of the model view from that link answers it.
    await page.getByRole('button', { name: 'Copy link' }).click();
    const link = await page.getByTestId('share-link').inputValue();
    const hash = link.slice(link.indexOf('#'));
    const shared = decodeShareHash(hash);
    const textId = shared.cells[2]!.id;
    expect(shared.selection).toMatchObject({ text: textId, document: DOC, position: POS });
    const embed = await openPage(
      session.context,
      `${session.app.baseUrl}embed.html${hash}&cell=${shared.cells[3]!.id}`,
    );
    await waitCell(embed.page, 0, 'done', 180_000);
    const embedded = cells(embed.page).nth(0).getByTestId('model-view-selection');
    await expect.poll(() => embedded.getAttribute('data-position'), { timeout: 60_000 }).toBe(String(POS));
    const attentionAgain = cells(page).nth(3).getByTestId('model-view-selection');
    expect(await embedded.locator('li').first().getAttribute('data-row')).toBe(
      await attentionAgain.locator('li').first().getAttribute('data-row'),
    );
    await embed.page.close();
    expect(embed.errors).toEqual([]);

    // A report carries it too: opened from file://, its model view answers from the stored result,
    // a token picked there moves the selection (no re-run), and the report's one-cell embed follows it.
    const reportPath = await exportReport(page);
    const report = await openPage(session.context, pathToFileURL(reportPath).href);
    await expect.poll(() => cells(report.page).count(), { timeout: 30_000 }).toBe(await cells(page).count());
    const inReport = cells(report.page).nth(3).getByTestId('model-view-selection');
    await expect.poll(() => inReport.getAttribute('data-position'), { timeout: 30_000 }).toBe(String(POS));
    expect(await inReport.locator('li').first().getAttribute('data-row')).toBe(
      await attentionAgain.locator('li').first().getAttribute('data-row'),
    );
    await cells(report.page)
      .nth(3)
      .locator(`.sb-token[data-index="${POS + 1}"]`)
      .first()
      .click();
    await expect.poll(() => inReport.getAttribute('data-position')).toBe(String(POS + 1));
    await report.page.close();
    expect(report.errors).toEqual([]);
    const reportEmbed = await openPage(
      session.context,
      `${pathToFileURL(reportPath).href}#cell=${shared.cells[3]!.id}`,
    );
    await expect
      .poll(
        () =>
          cells(reportEmbed.page).nth(0).getByTestId('model-view-selection').getAttribute('data-position'),
        {
          timeout: 30_000,
        },
      )
      .toBe(String(POS));
    await reportEmbed.page.close();
    expect(reportEmbed.errors).toEqual([]);
    expect(errors).toEqual([]);
  }, 900_000);
});
