/**
 * The SAE studio's compute-free catalogue: file names, the files table, the hook points an SAE
 * can read and the pretrained release table. The page imports this (eslint/layers.js); the trainer, codecs and kernels stay in the
 * worker's bundle.
 */
import { Binary, Field, Schema, Utf8, type Table } from 'apache-arrow';
import { blockHookPoints, FINAL_HOOK_POINTS, type HookModelShape } from '../../runtime/hooks';
import { TABLE_KIND_KEY, tableFromRows, tableRows } from '../../runtime/tables';

// The pretrained releases the SAE cell offers, and their Neuronpedia links.
export {
  findRelease,
  neuronpediaFeatureUrl,
  neuronpediaSaeUrl,
  releaseHubId,
  SAE_RELEASES,
  type SaeRelease,
} from './releases';

/** SAELens' file pair, as SAELens and Neuronpedia name them. */
export const SAELENS_CFG_FILE = 'cfg.json';
export const SAELENS_WEIGHTS_FILE = 'sae_weights.safetensors';

/** File of the ITDA atoms' matching-pursuit width, beside the SAELens pair (ITDA SAEs only). */
export const ITDA_FILE = 'itda.json';

/** Columns of the SAE files table (`sparsebook.table` = `sae-files`): one row per file. */
export const SAE_FILES_SCHEMA = new Schema(
  [new Field('name', new Utf8(), false), new Field('bytes', new Binary(), false)],
  new Map([[TABLE_KIND_KEY, 'sae-files']]),
);

/** The SAE files as a table (and back), so a cell result carries the trained SAE. */
export function saeFilesTable(files: Record<string, Uint8Array>): Table {
  return tableFromRows(
    SAE_FILES_SCHEMA,
    Object.entries(files).map(([name, bytes]) => ({ name, bytes })),
  );
}

export function saeFilesFromTable(table: Table): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  for (const r of tableRows<{ name: string; bytes: Uint8Array }>(table)) out[r.name] = r.bytes;
  return out;
}

/** Hook points whose activation is not one [T, width] f32 row per token (not collectable). */
export const NOT_ROWWISE: ReadonlySet<string> = new Set([
  'attn.hook_attn_scores',
  'attn.hook_pattern',
  'attn.hook_row_stats',
  'moe.hook_selected_experts',
]);

/** The hook points of a model whose activations can be collected (one f32 row per token). */
export function collectableHookPoints(config: HookModelShape): string[] {
  const points = blockHookPoints(config).filter((p) => !NOT_ROWWISE.has(p));
  const out: string[] = [];
  for (let l = 0; l < config.nLayers; l++) for (const p of points) out.push(`blocks.${l}.${p}`);
  return [...out, ...FINAL_HOOK_POINTS];
}
