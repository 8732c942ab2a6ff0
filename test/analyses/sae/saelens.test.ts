/** SAELens export → import round trips and the import's validation errors. */
import { describe, expect, it } from 'vitest';
import { writeSafetensors } from '../../../runtime/formats/safetensors-write';
import { forward } from '../../../analyses/sae/forward';
import { initSaeParams } from '../../../analyses/sae/init';
import { exportSaeLens, importSaeLens } from '../../../analyses/sae/saelens';
import { mulberry32 } from '../../../analyses/sae/prng';
import type { SaeConfig, SaeParams } from '../../../analyses/sae/types';
import { normalBatch } from './sae-fixtures';

const hook = 'blocks.3.hook_resid_post';

function trainedLike(cfg: SaeConfig, seed: number): SaeParams {
  const p = initSaeParams(cfg, seed);
  const rng = mulberry32(seed);
  for (let i = 0; i < p.bEnc.length; i++) p.bEnc[i] = 0.1 * rng.normal();
  for (let i = 0; i < p.bDec.length; i++) p.bDec[i] = 0.1 * rng.normal();
  if (p.logThreshold)
    for (let i = 0; i < p.logThreshold.length; i++) p.logThreshold[i] = Math.log(0.05 + 0.2 * rng.uniform());
  return p;
}

const configs: SaeConfig[] = [
  { kind: 'relu', dIn: 48, dSae: 96, hookName: hook, normalizeDecoder: true },
  { kind: 'topk', dIn: 48, dSae: 96, k: 6, hookName: hook, normalizeDecoder: true },
  { kind: 'jumprelu', dIn: 48, dSae: 96, hookName: hook, normalizeDecoder: true },
];

describe('SAELens export/import', () => {
  it.each(configs)('$kind: round trip gives identical parameters and features', (cfg) => {
    const params = trainedLike(cfg, 5);
    const files = exportSaeLens(cfg, params, { modelName: 'stories15M' });
    const json = JSON.parse(files.cfgJson) as Record<string, unknown>;
    expect(json).toMatchObject({
      d_in: 48,
      d_sae: 96,
      hook_name: hook,
      hook_layer: 3,
      model_name: 'stories15M',
      dtype: 'float32',
      apply_b_dec_to_input: true,
      normalize_activations: 'none',
      architecture: ({ relu: 'standard', topk: 'topk', jumprelu: 'jumprelu' } as Record<string, string>)[
        cfg.kind
      ],
      metadata: { model_name: 'stories15M', hook_name: hook },
    });
    if (cfg.kind === 'topk') expect(json.activation_fn_kwargs).toEqual({ k: 6 });

    const back = importSaeLens(files, { dIn: 48, hookName: hook });
    expect(back.modelName).toBe('stories15M');
    expect(back.cfg).toMatchObject({
      kind: cfg.kind,
      dIn: 48,
      dSae: 96,
      hookName: hook,
      normalizeDecoder: true,
    });
    expect(back.params.wEnc).toEqual(params.wEnc);
    expect(back.params.bEnc).toEqual(params.bEnc);
    expect(back.params.wDec).toEqual(params.wDec);
    expect(back.params.bDec).toEqual(params.bDec);
    if (cfg.kind === 'jumprelu') {
      // Stored as θ = exp(log θ); log of the float32 θ comes back within an ulp or so.
      for (let j = 0; j < 96; j++)
        expect(back.params.logThreshold![j]).toBeCloseTo(params.logThreshold![j]!, 6);
    } else {
      expect(back.params.logThreshold).toBeUndefined();
    }
    const x = normalBatch(64, 48, 2);
    const a = forward(params, cfg, x);
    const b = forward(back.params, back.cfg, x);
    expect(b.latents).toEqual(a.latents);
    expect(b.reconstruction).toEqual(a.reconstruction);
  });

  it('reads BF16 weights (converted to float32)', () => {
    const cfg = configs[1]!;
    const params = trainedLike(cfg, 6);
    const back = importSaeLens(exportSaeLens(cfg, params, { modelName: 'm', dtype: 'BF16' }));
    for (let i = 0; i < 200; i++) expect(back.params.wEnc[i]).toBeCloseTo(params.wEnc[i]!, 2);
  });

  it('folds apply_b_dec_to_input: false into b_enc exactly', () => {
    const cfg = configs[0]!;
    const params = trainedLike(cfg, 7);
    const files = exportSaeLens(cfg, params, { modelName: 'm' });
    const json = JSON.parse(files.cfgJson) as Record<string, unknown>;
    const back = importSaeLens({
      cfgJson: JSON.stringify({ ...json, apply_b_dec_to_input: false }),
      weights: files.weights,
    });
    // SAELens would compute x·W_enc + b_enc; ours subtracts b_dec first, so b_enc absorbs b_dec·W_enc.
    const x = normalBatch(8, 48, 3);
    const pre = back.params.bEnc.slice();
    const ours = forward(back.params, back.cfg, x).pre;
    for (let j = 0; j < 96; j++) {
      let s = params.bEnc[j]!;
      for (let d = 0; d < 48; d++) s += x[d]! * params.wEnc[d * 96 + j]!;
      expect(ours[j]).toBeCloseTo(s, 4);
    }
    expect(pre).not.toEqual(params.bEnc);
  });

  describe('errors name the file and the problem', () => {
    const cfg = configs[1]!;
    const params = trainedLike(cfg, 8);
    const good = exportSaeLens(cfg, params, { modelName: 'm' });
    const json = JSON.parse(good.cfgJson) as Record<string, unknown>;
    const weights = (skip: string, override?: { name: string; shape: number[] }) =>
      writeSafetensors(
        [
          { name: 'W_enc', shape: [48, 96], data: params.wEnc },
          { name: 'b_enc', shape: [96], data: params.bEnc },
          { name: 'W_dec', shape: [96, 48], data: params.wDec },
          { name: 'b_dec', shape: [48], data: params.bDec },
        ]
          .filter((t) => t.name !== skip)
          .map((t) =>
            override && t.name === override.name
              ? {
                  ...t,
                  shape: override.shape,
                  data: new Float32Array(override.shape.reduce((a, b) => a * b, 1)),
                }
              : t,
          )
          .map((t) => ({ ...t, dtype: 'F32' as const })),
      );

    it('wrong tensor shape', () => {
      expect(() =>
        importSaeLens({ cfgJson: good.cfgJson, weights: weights('', { name: 'W_enc', shape: [64, 96] }) }),
      ).toThrow('sae_weights.safetensors: W_enc is [64, 96], expected [48, 96] (d_in 48 from cfg.json)');
      expect(() =>
        importSaeLens({ cfgJson: good.cfgJson, weights: weights('', { name: 'b_enc', shape: [95] }) }),
      ).toThrow('sae_weights.safetensors: b_enc is [95], expected [96] (d_sae 96 from cfg.json)');
    });

    it('NaN or ±Infinity in a weight (fuzz finding: it was imported)', () => {
      for (const bad of [NaN, Infinity, -Infinity]) {
        const wDec = params.wDec.slice();
        wDec[17] = bad;
        const file = writeSafetensors([
          { name: 'W_enc', dtype: 'F32', shape: [48, 96], data: params.wEnc },
          { name: 'b_enc', dtype: 'F32', shape: [96], data: params.bEnc },
          { name: 'W_dec', dtype: 'F32', shape: [96, 48], data: wDec },
          { name: 'b_dec', dtype: 'F32', shape: [48], data: params.bDec },
        ]);
        expect(() => importSaeLens({ cfgJson: good.cfgJson, weights: file })).toThrow(
          `sae_weights.safetensors: W_dec holds a non-finite value (${bad}) at index 17`,
        );
      }
    });

    it('missing tensor', () => {
      expect(() => importSaeLens({ cfgJson: good.cfgJson, weights: weights('W_dec') })).toThrow(
        'sae_weights.safetensors: missing tensor "W_dec" (a topk SAE needs it)',
      );
      const jr = exportSaeLens(configs[2]!, trainedLike(configs[2]!, 1), { modelName: 'm' });
      expect(() => importSaeLens({ cfgJson: jr.cfgJson, weights: weights('') })).toThrow(
        'sae_weights.safetensors: missing tensor "threshold" (a jumprelu SAE needs it)',
      );
    });

    it('d_in and hook mismatches against what the caller expects', () => {
      expect(() => importSaeLens(good, { dIn: 64 })).toThrow(
        'cfg.json: d_in is 48 but the activations at the hook have width 64',
      );
      expect(() => importSaeLens(good, { hookName: 'blocks.4.hook_resid_post' })).toThrow(
        'cfg.json: hook_name is "blocks.3.hook_resid_post" but this SAE is being loaded at "blocks.4.hook_resid_post"',
      );
    });

    it('bad cfg.json', () => {
      const w = good.weights;
      expect(() => importSaeLens({ cfgJson: '{', weights: w })).toThrow('cfg.json: not valid JSON');
      expect(() => importSaeLens({ cfgJson: JSON.stringify({ ...json, d_in: 0 }), weights: w })).toThrow(
        'cfg.json: d_in is 0, expected a positive integer',
      );
      expect(() =>
        importSaeLens({ cfgJson: JSON.stringify({ ...json, architecture: 'batchtopk' }), weights: w }),
      ).toThrow('cfg.json: architecture "batchtopk" is not supported');
      expect(() =>
        importSaeLens({
          cfgJson: JSON.stringify({ ...json, normalize_activations: 'expected_average_only_in' }),
          weights: w,
        }),
      ).toThrow('normalize_activations "expected_average_only_in" is not supported');
      const { hook_name: _h, metadata: _m, ...noHook } = json;
      expect(() => importSaeLens({ cfgJson: JSON.stringify(noHook), weights: w })).toThrow(
        'cfg.json: missing hook_name',
      );
    });

    it('reads SAELens 5 TopK configs (architecture "standard", activation_fn_str "topk")', () => {
      const { k: _k, ...rest } = json;
      const v5 = {
        ...rest,
        architecture: 'standard',
        activation_fn_str: 'topk',
        activation_fn_kwargs: { k: 6 },
      };
      expect(importSaeLens({ cfgJson: JSON.stringify(v5), weights: good.weights }).cfg).toMatchObject({
        kind: 'topk',
        k: 6,
      });
    });
  });
});
