/**
 * A feature card links to the feature's Neuronpedia page when the SAE's files name its Neuronpedia
 * id (SAELens `neuronpedia_id`, top level or in metadata), and the id survives the files a kept SAE
 * is saved as; an SAE without one gets no link.
 */
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { saeBrowseJob, saeFeatureJob, saeImportJob, SaeStore } from '../../workers/sae-jobs';
import { saeFiles } from '../../analyses/sae/sae-files';
import { importSaeLens } from '../../analyses/sae/saelens';
import { exactSae, saeLensFolder } from '../analyses/sae/exact-saes';
import { loadArchFolder } from '../helpers/arch-folders';

const { model, tokenizer } = loadArchFolder(createCpuBackend(), 'gpt2');
const text = 'Once upon a time, a fox met a crow.<|endoftext|>The crow had cheese; the fox wanted it.';
const hook = 'blocks.0.hook_resid_post';
const rows = Float32Array.from({ length: 10 * 32 }, (_, i) => Math.sin(i * 0.7));
const e = exactSae(rows, 32, { construction: 'pairs', applyBDec: true });

describe('Neuronpedia links on feature cards', () => {
  const store = new SaeStore();

  it.each([
    ['top level (SAELens 5)', { neuronpedia_id: 'gpt2-small/0-res-jb' }],
    ['in metadata (SAELens 6)', { metadata: { hook_name: hook, neuronpedia_id: 'gpt2-small/0-res-jb' } }],
  ])('id %s', async (_where, extra) => {
    const files = saeLensFolder(e, { hook_name: hook, ...extra });
    const r = await saeImportJob(model, tokenizer, store, {
      cellId: 'np',
      text,
      files,
      skipEvaluation: true,
    });
    const ref = { saeCell: 'np', saeId: r.summary.saeId };
    await saeBrowseJob(tokenizer, store, { ...ref, text, maxWindows: 1, topN: 2 });
    const card = await saeFeatureJob(tokenizer, store, { ...ref, feature: 5 });
    expect(card.neuronpedia).toBe('https://www.neuronpedia.org/gpt2-small/0-res-jb/5');
    // Saved as SAELens files again, the id comes back.
    const kept = store.sae(ref);
    const again = saeFiles(kept.sae, 'gpt2');
    expect(
      importSaeLens({ cfgJson: again['cfg.json']!, weights: again['sae_weights.safetensors']! }).source,
    ).toMatchObject({
      neuronpedia: 'gpt2-small/0-res-jb',
    });
  });

  it('no id, no link', async () => {
    const files = saeLensFolder(e, { hook_name: hook });
    const r = await saeImportJob(model, tokenizer, store, {
      cellId: 'plain',
      text,
      files,
      skipEvaluation: true,
    });
    const ref = { saeCell: 'plain', saeId: r.summary.saeId };
    await saeBrowseJob(tokenizer, store, { ...ref, text, maxWindows: 1, topN: 2 });
    expect((await saeFeatureJob(tokenizer, store, { ...ref, feature: 5 })).neuronpedia).toBeUndefined();
  });
});
