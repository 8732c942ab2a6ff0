/**
 * Saving a pruned model: the dense host weights with every pruned matrix replaced (dense ⊙ mask,
 * or SparseGPT's values), written as llama2.c `.bin` and as a HF folder (`config.json` +
 * `model.safetensors`), plus the masks as a safetensors file of U8 tensors named like the HF
 * weights they mask (`model.layers.{l}.mlp.down_proj.weight` → 1 = kept). Both model formats are
 * Llama's, so only Llama-architecture models (llama2.c checkpoints, HF `LlamaForCausalLM`) can be
 * exported (`checkPrunedExport`); other architectures are pruned and scored, not saved.
 */
import { writeHfCheckpoint } from '../../runtime/formats/hf-write';
import { llama2cUnrepresentable, writeLlama2c } from '../../runtime/formats/llama2c-write';
import { writeSafetensors } from '../../runtime/formats/safetensors-write';
import type { LinearWeightName } from '../../runtime/model/llama';
import type { LlamaConfig, LlamaWeights } from '../../runtime/model/llama-config';
import { patternName } from './patterns';
import type { PrunedModel } from './prune-model';

const HF_NAME: Record<LinearWeightName, string> = {
  wq: 'self_attn.q_proj',
  wk: 'self_attn.k_proj',
  wv: 'self_attn.v_proj',
  wo: 'self_attn.o_proj',
  w1: 'mlp.gate_proj',
  w2: 'mlp.down_proj',
  w3: 'mlp.up_proj',
};

/** The HF tensor name of a block's linear weight. */
export function hfWeightName(layer: number, name: LinearWeightName): string {
  return `model.layers.${layer}.${HF_NAME[name]}.weight`;
}

/** Whether a pruned copy of a model with this config can be saved (Llama architecture only). */
export function prunedExportSupported(config: Pick<LlamaConfig, 'architecture' | 'moe'>): boolean {
  return !config.moe && (config.architecture === undefined || config.architecture === 'LlamaForCausalLM');
}

/**
 * Throw a clear error unless a pruned copy of a model with this config can be exported.
 *
 * @example
 * checkPrunedExport(gpt2.config); // Error: … only Llama-architecture models …; this one is GPT2LMHeadModel
 */
export function checkPrunedExport(
  config: Pick<LlamaConfig, 'architecture' | 'moe'>,
  model = 'this model',
): void {
  if (prunedExportSupported(config)) return;
  const what = `${config.architecture ? `a ${config.architecture}` : 'a llama2.c model'}${config.moe ? ' with a mixture-of-experts FFN' : ''}`;
  throw new Error(
    `cannot export the pruned model: the exports are llama2.c and HF Llama files, which only dense Llama-architecture models fit, and ${model} is ${what}; its pruning results stay in the sweep`,
  );
}

/** A copy of `dense` with the pruned matrices in place (the input is not modified). */
export function applyPruned(dense: LlamaWeights, pruned: PrunedModel): LlamaWeights {
  const layers = dense.layers.map((l) => ({ ...l }));
  for (const p of pruned.weights) {
    const layer = layers[p.layer];
    if (!layer) throw new Error(`pruned weight for layer ${p.layer}, but the model has ${layers.length}`);
    const src = layer[p.name];
    if (src?.length !== p.mask.length) {
      throw new Error(
        `pruned ${p.name} of layer ${p.layer} has ${p.mask.length} entries, the weight ${src.length}`,
      );
    }
    layer[p.name] = p.values ? p.values.slice() : src.map((x, i) => (p.mask[i] ? x : 0));
  }
  return { ...dense, layers };
}

/** Metadata recorded in the exported files. */
export function prunedMetadata(pruned: PrunedModel): Record<string, string> {
  return {
    sparsebook_pruning: JSON.stringify({
      method: pruned.method,
      pattern: patternName(pruned.pattern),
      sparsity: pruned.sparsity,
      nonzeros: pruned.nonzeros,
      total: pruned.total,
    }),
  };
}

export interface PrunedFiles {
  /** llama2.c checkpoint, or null when the model has values a llama2.c file cannot record. */
  'model.bin': Uint8Array | null;
  /** Why `model.bin` is null (names the value, `llama2cUnrepresentable`). */
  modelBinRefused: string | null;
  /** HF folder files. */
  'config.json': string;
  'model.safetensors': Uint8Array;
  /** Keep masks (U8, 1 = kept), by HF weight name. */
  'masks.safetensors': Uint8Array;
}

/**
 * @example
 * const files = exportPruned(model.config, await model.readWeights(), pruned);
 * @throws for a model that is not a dense Llama (`checkPrunedExport`).
 */
export function exportPruned(config: LlamaConfig, dense: LlamaWeights, pruned: PrunedModel): PrunedFiles {
  checkPrunedExport(config);
  const weights = applyPruned(dense, pruned);
  const metadata = prunedMetadata(pruned);
  const hf = writeHfCheckpoint(config, weights, metadata);
  const masks = writeSafetensors(
    pruned.weights.map((p) => ({
      name: hfWeightName(p.layer, p.name),
      dtype: 'U8' as const,
      shape: [p.rows, p.cols],
      data: p.mask,
    })),
    metadata,
  );
  const modelBinRefused = llama2cUnrepresentable(config);
  return {
    'model.bin': modelBinRefused ? null : writeLlama2c(config, weights),
    modelBinRefused,
    'config.json': hf.config,
    'model.safetensors': hf.safetensors,
    'masks.safetensors': masks,
  };
}

/** A file of the source model's tokenizer, by the name it had beside the model. */
export interface TokenizerFile {
  name: string;
  bytes: Uint8Array;
}

/** One file of a pruned model's folder, by its path inside the folder. */
export interface PrunedFolderFile {
  path: string;
  data: Uint8Array | string;
}

/**
 * The pruned model as a folder Sparsebook (CLI `--model DIR`, the app's file picker) reopens: the
 * HF files with the source model's tokenizer beside them (`tokenizer.json` [+
 * `tokenizer_config.json`], or a llama2.c tokenizer as `tokenizer.bin`) and `masks.safetensors`
 * (not a weights file: `planModelFiles` reads `model.safetensors`). The llama2.c checkpoint goes
 * into `llama2c/` with its tokenizer, because a `.bin` checkpoint beside `config.json` makes the
 * folder ambiguous; it is written only when the model fits a llama2.c header and the tokenizer is a
 * llama2.c one (`.bin`), since llama2.c has no reader for `tokenizer.json` (`skipped` says why not).
 *
 * @example
 * const { files } = prunedFolder(exportPruned(config, weights, pruned), [{ name: 'tok512.bin', bytes }]);
 * // config.json, model.safetensors, tokenizer.bin, masks.safetensors, llama2c/model.bin, llama2c/tokenizer.bin
 */
export function prunedFolder(
  exported: PrunedFiles,
  tokenizer: readonly TokenizerFile[],
): { files: PrunedFolderFile[]; skipped: string | null } {
  const json = tokenizer.find((t) => t.name.endsWith('.json') && !t.name.endsWith('_config.json'));
  const bin = tokenizer.find((t) => t.name.endsWith('.bin'));
  const tokenizerConfig = tokenizer.find((t) => t.name.endsWith('tokenizer_config.json'));
  if (!json && !bin) {
    throw new Error(
      `cannot write the pruned model's folder without its tokenizer: got ${tokenizer.map((t) => t.name).join(', ') || 'no tokenizer file'}, expected tokenizer.json or a llama2.c tokenizer .bin`,
    );
  }
  const files: PrunedFolderFile[] = [
    { path: 'config.json', data: exported['config.json'] },
    { path: 'model.safetensors', data: exported['model.safetensors'] },
    ...(json
      ? [
          { path: 'tokenizer.json', data: json.bytes },
          ...(tokenizerConfig ? [{ path: 'tokenizer_config.json', data: tokenizerConfig.bytes }] : []),
        ]
      : [{ path: 'tokenizer.bin', data: bin!.bytes }]),
    { path: 'masks.safetensors', data: exported['masks.safetensors'] },
  ];
  if (!exported['model.bin']) {
    return { files, skipped: `llama2c/model.bin not written: ${exported.modelBinRefused}` };
  }
  if (json) {
    return {
      files,
      skipped: `llama2c/model.bin not written: the model's tokenizer is ${json.name}, and llama2.c reads only its own tokenizer .bin format`,
    };
  }
  files.push(
    { path: 'llama2c/model.bin', data: exported['model.bin'] },
    { path: 'llama2c/tokenizer.bin', data: bin!.bytes },
  );
  return { files, skipped: null };
}
