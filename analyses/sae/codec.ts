/**
 * One interface over the two kinds of dictionary the SAE studio evaluates, browses and steers
 * with: a trained SAE (`SaeParams`, encoded by `encode` / decoded by `decode`) and an ITDA
 * dictionary (encoded by matching pursuit, decoded as codes · atoms, no bias). Everything
 * model-side (evaluate, features, steering) goes through `saeCodec`, so ITDA is measured with
 * exactly the same code as the trained SAEs.
 */
import { decode, encode } from './forward';
import { applyInputTransforms, type SaeInputTransform } from './input-transform';
import { itdaEncode, type ItdaDictionary } from './itda';
import type { SaeConfig, SaeParams } from './types';

/** Where a pretrained SAE came from (`loadPretrainedSae`), for reports and feature links. */
export interface SaeSource {
  /** On-disk format: saelens, gemma-scope, gemma-scope-2 or sparsify. */
  format: string;
  /** The architecture as the file names it (standard, topk, jumprelu, gated, …). */
  architecture: string;
  /** The model the SAE was trained on, as the file or release names it. */
  modelName?: string;
  /** Neuronpedia's `{model}/{sae}` id, when the SAE has pages there. */
  neuronpedia?: string;
  /** The release entry it was picked from (`SAE_RELEASES` id). */
  release?: string;
}

/**
 * An SAE as the model-side analyses use it. For ITDA, `params` is the dictionary in SAE shape
 * (`itdaToSaeParams`: W_dec = atoms) and `itda` holds the dictionary and its pursuit k; encoding
 * then uses matching pursuit, not `params`' TopK encoder.
 */
export interface LoadedSae {
  cfg: SaeConfig;
  params: SaeParams;
  itda?: { dict: ItdaDictionary; k: number };
  /**
   * Per-row transforms of the input the SAE was trained with (TransformerLens centring, SAELens
   * constant_norm_rescale / layer_norm), applied before encoding and undone on the
   * reconstruction by `saeCodec(…).run`. `decode` and `direction` stay in the SAE's own space.
   */
  input?: readonly SaeInputTransform[];
  source?: SaeSource;
}

/** Encode / decode rows of width cfg.dIn; latents are dense [n, dSae]. */
export interface SaeCodec {
  dIn: number;
  dSae: number;
  hookName: string;
  /** Latents [n, dSae] and reconstruction [n, dIn] of x [n, dIn]. */
  run(x: Float32Array): { latents: Float32Array; reconstruction: Float32Array };
  /** Reconstruction [n, dIn] of latents [n, dSae]. */
  decode(latents: Float32Array): Float32Array;
  /** Decoder row of latent j (a view, length dIn). */
  direction(j: number): Float32Array;
}

/**
 * @example
 * const codec = saeCodec(sae);
 * const { latents, reconstruction } = codec.run(activations);
 */
export function saeCodec(sae: LoadedSae): SaeCodec {
  const { cfg, params } = sae;
  const { dIn, dSae } = cfg;
  const direction = (j: number) => {
    if (!(Number.isInteger(j) && j >= 0 && j < dSae))
      throw new Error(`feature ${j} out of range [0, ${dSae})`);
    return params.wDec.subarray(j * dIn, (j + 1) * dIn);
  };
  if (sae.itda) {
    const { dict, k } = sae.itda;
    if (dict.size !== dSae || dict.dIn !== dIn) {
      throw new Error(`ITDA dictionary is [${dict.size}, ${dict.dIn}], SAE config says [${dSae}, ${dIn}]`);
    }
    return {
      dIn,
      dSae,
      hookName: cfg.hookName,
      run: (x) => {
        const c = itdaEncode(dict, x, k);
        return { latents: c.latents, reconstruction: c.reconstruction };
      },
      decode: (latents) => decode({ ...params, bDec: new Float32Array(dIn) }, cfg, latents),
      direction,
    };
  }
  const input = sae.input ?? [];
  return {
    dIn,
    dSae,
    hookName: cfg.hookName,
    run: (x) => {
      if (input.length === 0) {
        const { latents } = encode(params, cfg, x);
        return { latents, reconstruction: decode(params, cfg, latents) };
      }
      const t = applyInputTransforms(input, x, dIn);
      const { latents } = encode(params, cfg, t.y);
      return { latents, reconstruction: t.undo(decode(params, cfg, latents)) };
    },
    decode: (latents) => decode(params, cfg, latents),
    direction,
  };
}
