/**
 * Pure data for the SAE cell's view: the training curve (live from the run's partial result, or
 * the finished result's table) as one small table per metric, the evaluation as labelled rows, the
 * feature-density histogram as pre-binned columns, and the SAELens names of picked files.
 */
import { tableFromArrays, tableFromIPC, type Table } from 'apache-arrow';
import { unzipSync } from 'fflate';
import type { TrainProgress } from '../../../analyses/sae/train';
import { ITDA_FILE, SAELENS_CFG_FILE, SAELENS_WEIGHTS_FILE } from '../../../analyses/sae/catalogue';
import { formatCount, ModelFormatError } from '../../../runtime/errors';
import type { CellRuntime } from '../../notebook/cell-runtime';
import type { SaeSummary } from '../../../workers/sae-jobs';
import type { SaePartial } from './sae-kind';

/** The curves drawn while training, with their axis titles. */
export const CURVE_METRICS = {
  loss: 'Loss',
  mse: 'MSE',
  l0: 'L0 (active latents per token)',
  dead_fraction: 'Dead fraction',
} as const;
export type CurveMetric = keyof typeof CURVE_METRICS;

/** The curve points a cell shows now: the running partial, else the result's curve table. */
export function curvePoints(rt: CellRuntime): TrainProgress[] {
  const partial = rt.partial as unknown as SaePartial | undefined;
  if (rt.status === 'running' && partial?.curve) return partial.curve;
  const bytes = rt.result?.tables.curve;
  if (!bytes) return [];
  const t = tableFromIPC(bytes);
  const col = (n: string) => t.getChild(n)!.toArray() as ArrayLike<number>;
  const [step, loss, mse, l0, dead] = ['step', 'loss', 'mse', 'l0', 'dead_fraction'].map(col);
  return Array.from({ length: t.numRows }, (_, i) => ({
    step: step![i]!,
    loss: loss![i]!,
    mse: mse![i]!,
    l0: l0![i]!,
    deadFraction: dead![i]!,
  }));
}

/** One metric's curve as a two-column table (step, metric) for the line chart. */
export function curveTable(points: readonly TrainProgress[], metric: CurveMetric): Table {
  const value = (p: TrainProgress) => (metric === 'dead_fraction' ? p.deadFraction : p[metric]);
  return tableFromArrays({
    step: Float64Array.from(points, (p) => p.step),
    [metric]: Float64Array.from(points, value),
  });
}

/**
 * The evaluation as label / value rows, in the order a reader looks for them. A transcoder's
 * splice replaces the MLP output it predicts, so its losses say so.
 */
export function evaluationRows(s: SaeSummary): { label: string; value: string; key: string }[] {
  const e = s.evaluation;
  if (!e) return [];
  const f = (v: number, digits = 4) => (Number.isFinite(v) ? v.toFixed(digits) : String(v));
  const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
  const t = s.transcoder;
  return [
    {
      key: 'explained_variance',
      label: t ? 'Explained variance (of the MLP output)' : 'Explained variance',
      value: f(e.explained_variance),
    },
    { key: 'mse', label: 'MSE', value: e.mse.toPrecision(4) },
    { key: 'l0', label: 'L0', value: f(e.l0, 2) },
    { key: 'dead_fraction', label: 'Dead latents', value: pct(e.dead_fraction) },
    { key: 'dense_fraction', label: 'Dense latents (> 10% of tokens)', value: pct(e.dense_fraction) },
    { key: 'loss_clean', label: 'Loss, clean', value: f(e.loss_clean) },
    {
      key: 'loss_spliced',
      label: t ? 'Loss, transcoder in place of the MLP' : 'Loss, SAE spliced in',
      value: f(e.loss_spliced),
    },
    {
      key: 'loss_zero_ablated',
      label: t ? 'Loss, MLP output zero-ablated' : 'Loss, hook zero-ablated',
      value: f(e.loss_zero_ablated),
    },
    { key: 'loss_recovered', label: 'Loss recovered', value: pct(e.loss_recovered) },
    // Evaluations cached before the KL score existed lack it.
    ...(e.kl_div_score === undefined
      ? []
      : [{ key: 'kl_div_score', label: 'KL score (SAELens)', value: pct(e.kl_div_score) }]),
  ];
}

/**
 * A transcoder's summary line: its kind, what it reads and which MLP output it replaces.
 *
 * @example
 * transcoderHeadline(s, 'ReLU'); // 'Skip transcoder (skip_transcoder, ReLU) from blocks.1.ln2.hook_normalized to blocks.1.hook_mlp_out, in place of the MLP output'
 */
export function transcoderHeadline(s: SaeSummary, kindLabel: string): string {
  const t = s.transcoder;
  if (!t) return '';
  return `${t.skip ? 'Skip transcoder' : 'Transcoder'} (${t.architecture}, ${kindLabel}) from ${s.hook} to ${t.hookOut}, in place of the MLP output`;
}

/** The density histogram (log10 firing frequency) as x0 / x1 / count columns. */
export function densityTable(s: SaeSummary): Table | undefined {
  const h = s.evaluation?.density_histogram;
  if (!h || h.counts.length === 0) return undefined;
  return tableFromArrays({
    x0: Float64Array.from(h.counts, (_, i) => h.edges[i]!),
    x1: Float64Array.from(h.counts, (_, i) => h.edges[i + 1]!),
    count: Float64Array.from(h.counts),
  });
}

/**
 * The SAELens name a picked file stands for: any `.safetensors` is the weights, any `.json`
 * other than the ITDA note is `cfg.json` (downloads often get renamed).
 */
export function saeLensName(name: string): string {
  const lower = name.toLowerCase();
  if (lower === ITDA_FILE) return ITDA_FILE;
  if (lower.endsWith('.safetensors')) return SAELENS_WEIGHTS_FILE;
  if (lower.endsWith('.json')) return SAELENS_CFG_FILE;
  return name;
}

/** Files an SAE zip may hold (an export has two or three). */
const ZIP_MAX_FILES = 64;
/** A zip entry inflates to at most this, or 64× its packed size past it: a zip bomb is refused unread. */
const ZIP_FREE_BYTES = 32 << 20;
const ZIP_MAX_EXPANSION = 64;

/**
 * The SAELens files a picked file holds: itself under its SAELens name, or, for a `.zip` (what
 * Export SAELens downloads), every file inside it.
 *
 * @throws ModelFormatError naming the zip when it cannot be read, holds more than 64 files, or an
 *   entry would inflate past 32 MiB and 64× its packed size.
 */
export function saeLensFiles(name: string, bytes: Uint8Array): Record<string, Uint8Array> {
  if (!name.toLowerCase().endsWith('.zip')) return { [saeLensName(name)]: bytes };
  let entries: Record<string, Uint8Array>;
  let count = 0;
  const filter = (f: { name: string; size: number; originalSize: number }): boolean => {
    // Checked before each entry is read: a damaged directory may claim billions of entries.
    if (++count > ZIP_MAX_FILES) {
      throw new ModelFormatError(name, `more than ${ZIP_MAX_FILES} files in the zip; is it an exported SAE?`);
    }
    if (f.originalSize > Math.max(ZIP_FREE_BYTES, ZIP_MAX_EXPANSION * f.size)) {
      throw new ModelFormatError(
        name,
        `${JSON.stringify(f.name.slice(0, 80))} would inflate ${formatCount(f.size)} bytes to ${formatCount(f.originalSize)}; refused`,
      );
    }
    return true;
  };
  try {
    entries = unzipSync(bytes, { filter });
  } catch (e) {
    if (e instanceof ModelFormatError) throw e;
    throw new ModelFormatError(name, `not a readable zip (${(e as Error).message})`);
  }
  const out: Record<string, Uint8Array> = {};
  for (const [path, data] of Object.entries(entries)) {
    const base = path.split('/').pop()!;
    if (base && !path.endsWith('/')) out[saeLensName(base)] = data;
  }
  return out;
}
