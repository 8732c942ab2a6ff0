/**
 * The SAE cell's import of a SAELens transcoder or skip transcoder (workers/sae-jobs.ts) on the
 * gpt2 fixture (CPU backend): both hooks checked against the model, the output spliced in place
 * of the MLP's and evaluated exactly as evaluateTranscoder (the CLI's `sae eval`) does, the
 * summary naming what it reads and writes; a reload restores it without evaluating; a transcoder
 * whose output width does not fit names the file; the SAE cell's view shows its metrics.
 */
import { describe, expect, it } from 'vitest';
import { evaluateTranscoder } from '../../analyses/sae/evaluate';
import { loadPretrainedSae } from '../../analyses/sae/pretrained';
import { evaluationRows, transcoderHeadline } from '../../app/cells/sae/sae-view';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { writeSafetensors } from '../../runtime/formats/safetensors-write';
import { isSaeLensTranscoder, saeImportJob, SaeStore } from '../../workers/sae-jobs';
import { loadArchFolder } from '../helpers/arch-folders';

const TEXT = [
  'Once upon a time, a fox met a crow in the old wood.',
  'The crow had a piece of cheese; the fox wanted it very much.',
].join('<|endoftext|>');
const { model, tokenizer } = loadArchFolder(createCpuBackend(), 'gpt2');

/** SAELens files of a transcoder with seeded weights (d_in = d_out = 32, the fixture's width). */
function transcoderFiles(cfg: Record<string, unknown>, skip = true): Record<string, Uint8Array> {
  const dIn = 32;
  const dSae = 16;
  const dOut = Number(cfg.d_out ?? dIn);
  const rnd = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => 0.3 * Math.sin(i * s + 1));
  const tensors = [
    { name: 'W_enc', shape: [dIn, dSae], data: rnd(dIn * dSae, 0.7) },
    { name: 'b_enc', shape: [dSae], data: rnd(dSae, 1.3) },
    { name: 'W_dec', shape: [dSae, dOut], data: rnd(dSae * dOut, 0.9) },
    { name: 'b_dec', shape: [dOut], data: rnd(dOut, 2.1) },
    ...(skip ? [{ name: 'W_skip', shape: [dOut, dIn], data: rnd(dOut * dIn, 0.4) }] : []),
  ];
  return {
    'cfg.json': new TextEncoder().encode(
      JSON.stringify({
        architecture: skip ? 'skip_transcoder' : 'transcoder',
        d_in: dIn,
        d_out: dOut,
        d_sae: dSae,
        hook_name: 'blocks.1.mlp.hook_in',
        hook_name_out: 'blocks.1.hook_mlp_out',
        ...cfg,
      }),
    ),
    'sae_weights.safetensors': writeSafetensors(tensors.map((t) => ({ ...t, dtype: 'F32' as const }))),
  };
}

describe('a SAELens transcoder in the SAE cell', () => {
  const store = new SaeStore();

  it('is spliced in place of the MLP output and evaluated as evaluateTranscoder does', async () => {
    const files = transcoderFiles({});
    expect(isSaeLensTranscoder(files)).toBe(true);
    const r = await saeImportJob(model, tokenizer, store, {
      cellId: 'tc',
      text: TEXT,
      files,
      evalWindows: 2,
    });
    expect(r.summary).toMatchObject({
      saeId: '',
      hook: 'blocks.1.ln2.hook_normalized',
      dIn: 32,
      dSae: 16,
      transcoder: { architecture: 'skip_transcoder', hookOut: 'blocks.1.hook_mlp_out', dOut: 32, skip: true },
    });
    expect(store.size).toBe(0); // not kept: the feature views read SAEs
    const load = loadPretrainedSae(files);
    if (load.type !== 'transcoder') throw new Error('expected a transcoder');
    const direct = await evaluateTranscoder(model, tokenizer, TEXT, load.transcoder, { maxWindows: 2 });
    const e = r.summary.evaluation!;
    for (const key of [
      'loss_clean',
      'loss_spliced',
      'loss_zero_ablated',
      'loss_recovered',
      'ce_loss_score',
      'kl_div_score',
      'explained_variance',
      'l0',
    ] as const)
      expect(e[key]).toBeCloseTo(direct[key], 6);
    // Seeded weights predict the MLP badly: the splice moves the loss.
    expect(Math.abs(e.loss_spliced - e.loss_clean)).toBeGreaterThan(1e-3);

    // The view: its headline and metric rows say what was replaced.
    expect(transcoderHeadline(r.summary, 'ReLU')).toBe(
      'Skip transcoder (skip_transcoder, ReLU) from blocks.1.ln2.hook_normalized to blocks.1.hook_mlp_out, in place of the MLP output',
    );
    const rows = evaluationRows(r.summary);
    expect(rows.find((x) => x.key === 'loss_spliced')).toEqual({
      key: 'loss_spliced',
      label: 'Loss, transcoder in place of the MLP',
      value: direct.loss_spliced.toFixed(4),
    });
    expect(rows.find((x) => x.key === 'loss_zero_ablated')!.label).toBe('Loss, MLP output zero-ablated');
    expect(rows.find((x) => x.key === 'kl_div_score')!.value).toBe(
      `${(direct.kl_div_score * 100).toFixed(1)}%`,
    );

    // A reload restores it from its files without evaluating again.
    const again = await saeImportJob(model, tokenizer, store, {
      cellId: 'tc',
      text: '',
      files,
      skipEvaluation: true,
    });
    expect(again.summary.evaluation).toBeUndefined();
    expect(again.summary.transcoder).toEqual(r.summary.transcoder);
  });

  it('a plain transcoder has no skip connection', async () => {
    const r = await saeImportJob(model, tokenizer, store, {
      cellId: 'tc2',
      text: TEXT,
      files: transcoderFiles({}, false),
      evalWindows: 1,
    });
    expect(r.summary.transcoder).toMatchObject({ architecture: 'transcoder', skip: false });
    expect(Number.isFinite(r.summary.evaluation!.loss_recovered)).toBe(true);
  });

  it('an output width the model does not have names the file', async () => {
    await expect(
      saeImportJob(model, tokenizer, store, {
        cellId: 'tc3',
        text: TEXT,
        files: transcoderFiles({ d_out: 48 }, false),
      }),
    ).rejects.toThrow(/cfg\.json: d_out is 48 but the activations at blocks\.1\.hook_mlp_out have width 32/);
  });
});
