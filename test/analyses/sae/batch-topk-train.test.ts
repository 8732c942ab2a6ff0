/**
 * BatchTopK trained on stories260K activations against TopK at the same k, steps and seed: the
 * held-out numbers of the inference form (a JumpReLU with the estimated θ), and its round trip
 * through an SAELens folder giving the same evaluation.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { evaluateSae } from '../../../analyses/sae/evaluate';
import { exportSaeLens, importSaeLens } from '../../../analyses/sae/saelens';
import { trainSae, type TrainSaeOptions } from '../../../analyses/sae/train';
import { loadStories260K } from '../../helpers/stories260k';
import { sharedPath, TINYSTORIES_VALID } from '../../helpers/shared-paths';

const HOOK = 'blocks.2.hook_resid_post';
const { model, tokenizer } = loadStories260K();
const text = readFileSync(sharedPath(TINYSTORIES_VALID), 'utf8')
  .split('<|endoftext|>')
  .slice(0, 40)
  .join('<|endoftext|>');

describe('BatchTopK on stories260K', () => {
  it('reaches TopK’s held-out EV at about the same mean L0; export → SAELens → import evaluates the same', async () => {
    const opts: Omit<TrainSaeOptions, 'kind'> = {
      hook: HOOK,
      k: 8,
      expansion: 4,
      steps: 120,
      batchSize: 256,
      lr: 3e-3,
      maxRows: 8192,
      firstWindow: 1,
      seed: 1,
    };
    const topk = await trainSae(model, tokenizer, text, { ...opts, kind: 'topk' });
    const batch = await trainSae(model, tokenizer, text, { ...opts, kind: 'batchtopk' });
    expect(batch.sae.cfg.kind).toBe('jumprelu');
    expect(batch.threshold).toBeGreaterThan(0);
    expect(batch.sae.cfg.thresholdLr).toBeCloseTo(10 / 120, 12);
    // Training keeps k·B per batch, so the training curve's L0 is k (less only if too few positive).
    const l0 = batch.curve.getChild('l0')!.toArray() as Float64Array;
    expect(Math.max(...l0)).toBeLessThanOrEqual(8);
    expect(l0[l0.length - 1]).toBe(8);
    const eval1 = { maxWindows: 1 };
    const a = await evaluateSae(model, tokenizer, text, topk.sae, eval1);
    const b = await evaluateSae(model, tokenizer, text, batch.sae, eval1);
    console.log(
      `stories260K k=8, 120 steps × 256: TopK EV ${a.explained_variance.toFixed(4)} L0 ${a.l0.toFixed(2)} ` +
        `recovered ${a.loss_recovered.toFixed(4)}; BatchTopK (θ ${batch.threshold!.toPrecision(4)}) ` +
        `EV ${b.explained_variance.toFixed(4)} L0 ${b.l0.toFixed(2)} recovered ${b.loss_recovered.toFixed(4)}`,
    );
    // The global threshold gives a per-token L0 whose mean is near k on held-out text…
    expect(b.l0).toBeGreaterThan(6.5);
    expect(b.l0).toBeLessThan(9.5);
    // …and an EV comparable to TopK's (the paper finds BatchTopK slightly better at equal L0).
    expect(b.explained_variance).toBeGreaterThan(a.explained_variance - 0.02);
    expect(b.loss_recovered).toBeGreaterThan(0.5);

    const files = exportSaeLens(batch.sae.cfg, batch.sae.params, { modelName: 'stories260K' });
    expect(JSON.parse(files.cfgJson)).toMatchObject({ architecture: 'jumprelu', hook_name: HOOK });
    const back = importSaeLens(files, { dIn: batch.sae.cfg.dIn, hookName: HOOK });
    expect(back.cfg.kind).toBe('jumprelu');
    const c = await evaluateSae(model, tokenizer, text, { cfg: back.cfg, params: back.params }, eval1);
    expect(c.explained_variance).toBeCloseTo(b.explained_variance, 5);
    expect(c.l0).toBeCloseTo(b.l0, 5);
    expect(c.loss_recovered).toBeCloseTo(b.loss_recovered, 5);
  });
});
