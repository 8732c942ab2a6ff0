/**
 * The SAE cells' worker jobs on stories260K (CPU backend): a short TopK training reports its curve,
 * evaluates on the held-out windows and keeps the SAE; its files restore an SAE with identical
 * features (same prompt latents); browsing, a feature card, steering and ablation answer from the
 * kept SAE; bad requests fail clearly. Pause and resume go through the real client and API over a
 * MessageChannel.
 */
import { readFileSync } from 'node:fs';
import { tableFromIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { storiesClient } from '../helpers/local-runtime';
import { ITDA_FILE, saeFilesFromTable } from '../../analyses/sae/catalogue';
import {
  saeAblateJob,
  saeBrowseJob,
  saeFeatureJob,
  saeImportJob,
  saePromptJob,
  SaeStore,
  saeSteerJob,
  saeTrainJob,
  type SaeTrainProgress,
  type SaeTrainRequest,
} from '../../workers/sae-jobs';
import { SAELENS_CFG_FILE } from '../../analyses/sae/saelens';
import { sharedPath, TINYSTORIES_VALID } from '../helpers/shared-paths';
import { loadStories260K } from '../helpers/stories260k';

const { model, tokenizer } = loadStories260K();
const text = readFileSync(sharedPath(TINYSTORIES_VALID), 'utf8')
  .split('<|endoftext|>')
  .slice(0, 40)
  .join('<|endoftext|>');
const hook = 'blocks.2.hook_resid_post';

const request = (over: Partial<SaeTrainRequest> = {}): SaeTrainRequest => ({
  cellId: 'sae1',
  text,
  hook,
  kind: 'topk',
  k: 8,
  expansion: 4,
  steps: 40,
  batchSize: 256,
  lr: 3e-3,
  evalWindows: 1,
  ...over,
});

describe('SAE worker jobs', () => {
  const store = new SaeStore();

  it('trains with a live curve, evaluates on held-out windows and keeps the SAE', async () => {
    const progress: SaeTrainProgress[] = [];
    const r = await saeTrainJob(model, tokenizer, store, 'stories260K', request(), {
      onProgress: (p) => progress.push(p),
      progressEvery: 10,
    });
    const train = progress.filter((p) => p.phase === 'train');
    expect(train.map((p) => (p.phase === 'train' ? p.point.step : -1))).toEqual([0, 10, 20, 30, 39]);
    expect(progress.some((p) => p.phase === 'collect')).toBe(true);
    expect(r.curve!.numRows).toBe(40);
    const ev = r.summary.evaluation!;
    expect(ev.windows).toBe(1);
    expect(ev.l0).toBeLessThanOrEqual(8);
    // 40 steps already explain most of the variance and recover part of the loss.
    expect(ev.explained_variance).toBeGreaterThan(0.5);
    expect(ev.loss_spliced).toBeLessThan(ev.loss_zero_ablated);
    expect(r.summary).toMatchObject({ hook, kind: 'topk', dIn: 64, dSae: 256, k: 8 });
    expect(r.summary.training!.steps).toBe(40);
    expect(r.summary.training!.trainer).toBe('cpu-reference');
    // The result is JSON-safe (it is stored with the notebook).
    expect(JSON.parse(JSON.stringify(r.summary))).toEqual(r.summary);

    // Restoring from the files gives an SAE with the same features on a prompt.
    const files = saeFilesFromTable(r.files);
    const ref = { saeCell: 'sae1', saeId: r.summary.saeId };
    const before = await saePromptJob(tokenizer, store, { ...ref, prompt: 'Once upon a time' });
    const restored = await saeImportJob(model, tokenizer, store, {
      cellId: 'sae2',
      text,
      files,
      skipEvaluation: true,
    });
    expect(restored.summary.evaluation).toBeUndefined();
    const after = await saePromptJob(tokenizer, store, {
      saeCell: 'sae2',
      saeId: restored.summary.saeId,
      prompt: 'Once upon a time',
    });
    expect(after).toEqual(before);
    expect(before[0]!.token).toBe('<s>');
    expect(before.every((t) => t.features.length <= 6)).toBe(true);

    // Browse, a feature card, steering and ablation from the kept SAE.
    const b = await saeBrowseJob(tokenizer, store, { ...ref, text, maxWindows: 1, topN: 4 });
    expect(b.list.numRows).toBe(256);
    expect(b.summary).toMatchObject({ windows: 1, dSae: 256 });
    const density = b.list.getChild('density')!.toArray() as Float64Array;
    const top = density.indexOf(Math.max(...density));
    const card = await saeFeatureJob(tokenizer, store, { ...ref, feature: top });
    expect(card.contexts.length).toBe(4);
    expect(card.contexts[0]!.activation).toBeCloseTo(card.maxActivation, 5);
    expect(card.histogram.counts.reduce((a, c) => a + c, 0)).toBeGreaterThan(0);
    expect(card.logits!.positive).toHaveLength(10);
    expect(card.logits!.positive[0]!.logit).toBeGreaterThan(card.logits!.negative[0]!.logit);
    expect(card.nearest).toHaveLength(8);
    const steer = await saeSteerJob(tokenizer, store, {
      ...ref,
      feature: top,
      mode: 'add',
      value: 40,
      prompt: 'Once upon a time',
      tokens: 16,
    });
    expect(steer.baseline.startsWith('Once upon a time')).toBe(true);
    expect(steer.steered).not.toBe(steer.baseline);
    const clamp0 = await saeSteerJob(tokenizer, store, {
      ...ref,
      feature: top,
      mode: 'clamp',
      value: 0,
      prompt: 'Once upon a time',
      tokens: 8,
    });
    expect(clamp0.baseline).toBe(steer.baseline.slice(0, clamp0.baseline.length));
    const ablate = await saeAblateJob(tokenizer, store, { ...ref, feature: top, text, maxWindows: 1 });
    expect(ablate.fired).toBeGreaterThan(0);
    expect(Number.isFinite(ablate.delta)).toBe(true);
    expect(ablate.lossAblated - ablate.lossClean).toBeCloseTo(ablate.delta, 10);
  }, 300_000);

  it('keeps ITDA dictionaries restorable', async () => {
    const r = await saeTrainJob(
      model,
      tokenizer,
      store,
      'stories260K',
      request({ cellId: 'itda', kind: 'itda', k: 8 }),
    );
    const files = saeFilesFromTable(r.files);
    expect(Object.keys(files)).toContain(ITDA_FILE);
    expect(r.summary).toMatchObject({ kind: 'itda', k: 8 });
    const back = await saeImportJob(model, tokenizer, store, {
      cellId: 'itda2',
      text,
      files,
      skipEvaluation: true,
    });
    expect(back.summary.kind).toBe('itda');
    const prompt = (saeCell: string, saeId: string) =>
      saePromptJob(tokenizer, store, { saeCell, saeId, prompt: 'Lily' });
    expect(await prompt('itda2', back.summary.saeId)).toEqual(await prompt('itda', r.summary.saeId));
  }, 300_000);

  it('fails clearly on bad requests', async () => {
    await expect(saeTrainJob(model, tokenizer, store, 'm', request({ evalWindows: 500 }))).rejects.toThrow(
      /windows .* held out for evaluation, so none is left to train on/,
    );
    await expect(
      saeTrainJob(model, tokenizer, store, 'm', request({ hook: 'blocks.9.hook_resid_post' })),
    ).rejects.toThrow(/blocks\.9/);
    expect(() => store.sae({ saeCell: 'nope', saeId: 'x' })).toThrow(/run the SAE cell again/);
    const r = await saeTrainJob(model, tokenizer, store, 'm', request({ cellId: 'bad', steps: 2 }));
    const files = saeFilesFromTable(r.files);
    // The user said another hook: the file's hook is refused by name.
    await expect(
      saeImportJob(model, tokenizer, store, {
        cellId: 'x',
        text: '',
        files,
        hook: 'blocks.1.hook_resid_post',
      }),
    ).rejects.toThrow(
      /blocks\.2\.hook_resid_post.*blocks\.1\.hook_resid_post|blocks\.1\.hook_resid_post.*blocks\.2\.hook_resid_post/,
    );
    await expect(
      saeImportJob(model, tokenizer, store, {
        cellId: 'x',
        text: '',
        files: { [SAELENS_CFG_FILE]: files[SAELENS_CFG_FILE]! },
      }),
    ).rejects.toThrow(/sae_weights\.safetensors/);
    const ref = { saeCell: 'bad', saeId: r.summary.saeId };
    await expect(saeFeatureJob(tokenizer, store, { ...ref, feature: 0 })).rejects.toThrow(
      /browse the features first/,
    );
    await expect(saeFeatureJob(tokenizer, store, { ...ref, feature: 9999 })).rejects.toThrow(
      /feature must be an integer/,
    );
  }, 300_000);

  it('pauses and resumes through the client and API', async () => {
    const client = await storiesClient();
    try {
      let paused = false;
      let resume: () => void = () => {};
      const steps: number[] = [];
      let stepsWhenResumed = -1;
      const r = await client.saeTrain(request({ steps: 12 }), {
        onProgress: (p) => {
          if (p.phase !== 'train') return;
          steps.push(p.point.step);
          if (p.point.step === 3 && !paused) {
            paused = true;
            setTimeout(() => {
              stepsWhenResumed = steps.length;
              resume();
            }, 300);
          }
        },
        waitIfPaused: () =>
          paused && stepsWhenResumed < 0 ? new Promise<void>((r) => (resume = r)) : Promise.resolve(),
      });
      // While paused no step ran: the step after 3 came only after the resume.
      expect(stepsWhenResumed).toBeGreaterThanOrEqual(4);
      expect(stepsWhenResumed).toBeLessThanOrEqual(5);
      expect(steps).toEqual(Array.from({ length: 12 }, (_, i) => i));
      expect(tableFromIPC(r.tables.curve!).numRows).toBe(12);
      expect(r.summary.evaluation!.l0).toBeLessThanOrEqual(8);
    } finally {
      client.dispose();
    }
  }, 300_000);
});
