/**
 * Transcoders (SAELens `transcoder` and `jumprelu_transcoder`), built to be exact, on a tiny model
 * of every architecture family: one reading blocks.0.hook_resid_post and writing
 * blocks.1.hook_resid_pre (the same activations, so an exact transcoder exists) predicts the
 * activations at its output hook with explained variance 1 and L0 = its construction, through
 * `transcoderForward` on the activations the model computes at both hooks; read without its
 * thresholds it does not. (The loss with a transcoder spliced in is not measured: splicing one
 * into the model is not done here.)
 */
import { describe, expect, it } from 'vitest';
import { explainedVariance, l0 } from '../../../analyses/sae/metrics';
import {
  checkPretrainedForModel,
  loadPretrainedSae,
  transcoderForward,
  type LoadedTranscoder,
  type SaeConvention,
} from '../../../analyses/sae/pretrained';
import { createCpuBackend } from '../../../kernels/cpu-backend';
import { ARCH_FIXTURES } from '../../helpers/arch-fixtures';
import { loadArchFolder } from '../../helpers/arch-folders';
import { activationsAt, exactSae, saeLensFolder } from './exact-saes';

const TEXT = [
  'Once upon a time, a fox met a crow in the old wood.',
  'The crow had a piece of cheese; the fox wanted it very much.',
].join('<|endoftext|>');
const HOOK_IN = 'blocks.0.hook_resid_post';
const HOOK_OUT = 'blocks.1.hook_resid_pre';

describe.each(ARCH_FIXTURES)('transcoders on the %s fixture', (family) => {
  it.each([
    ['transcoder', 0],
    ['jumprelu_transcoder', 3],
  ] as const)('%s: exact when read right; without its thresholds, not', async (architecture, extras) => {
    const { model, tokenizer } = loadArchFolder(createCpuBackend(), family);
    const input = await activationsAt(model, tokenizer, TEXT, HOOK_IN);
    const target = await activationsAt(model, tokenizer, TEXT, HOOK_OUT);
    const d = input.d;
    // A transcoder never subtracts b_dec (it lives in the output space): b_enc carries it.
    const e = exactSae(input.x, d, { construction: 'pairs', applyBDec: false, extras });
    const files = saeLensFolder(e, {
      architecture,
      d_out: d,
      hook_name: HOOK_IN,
      hook_name_out: HOOK_OUT,
      apply_b_dec_to_input: false,
    });
    const read = (ignore: SaeConvention[] = []): LoadedTranscoder => {
      const load = loadPretrainedSae(files, { ignore });
      if (load.type !== 'transcoder') throw new Error(`expected a transcoder, got ${load.type}`);
      return load.transcoder;
    };
    const load = loadPretrainedSae(files);
    await checkPretrainedForModel(model, load);
    expect(load.info).toMatchObject({
      transcoder: true,
      hookIn: HOOK_IN,
      hookOut: HOOK_OUT,
      dIn: d,
      dOut: d,
    });

    const t = read();
    const { latents, output } = transcoderForward(t, input.x);
    const ev = explainedVariance(target.x, output, d);
    expect(ev).toBeCloseTo(1, 5);
    expect(l0(latents, t.dSae)).toBe(e.l0);

    if (extras > 0) {
      const careless = read(['threshold']);
      const c = transcoderForward(careless, input.x);
      expect(explainedVariance(target.x, c.output, d)).toBeLessThan(0.99);
      expect(l0(c.latents, careless.dSae)).toBeGreaterThan(e.l0);
      console.log(
        `${family} | ${architecture} | d ${d} | EV ${ev.toFixed(6)} L0 ${l0(latents, t.dSae)} | ignoring threshold: EV ${explainedVariance(target.x, c.output, d).toFixed(4)} L0 ${l0(c.latents, careless.dSae).toFixed(2)}`,
      );
    }
  });
});
