/**
 * Activation collection for the SAE studio: run a model over the windows of a token stream (the
 * loss evaluation's windows, runtime/windows.ts: window k's inputs are stream[kS, kS + S), each from
 * fresh context) and stream the activation at one hook point out as Arrow record batches of at
 * most `chunkRows` rows — never one buffer of the whole corpus.
 *
 * Columns of an activation batch (`ACTIVATION_COLUMNS`; schema metadata `sparsebook.table` =
 * `sae-activations`, `sparsebook.hook` = the hook name, `sparsebook.d` = the width):
 * - `activation` (FixedSizeList<Float32>[d]): the activation row at the hook, one per token.
 * - `token` (int32): the input token id at this row.
 * - `position` (int32): its position inside the window (0 = the window's first input, which is
 *   also its rotary position).
 * - `window` (int32): the window number (0-based, in stream order); the row's stream index is
 *   window·seqLen + position.
 * - `doc` (int32): the document (0-based, as `buildTokenStream` split the text) the token is in.
 *
 * `shuffleActivations` mixes rows through a seeded buffer for training (fill N rows, then each new
 * row swaps out a uniformly random one, which is emitted), `activationBatches` turns any batch
 * stream into plain float32 [n, d] arrays for `SaeTrainer.step`.
 */
import {
  Field,
  FixedSizeList,
  Float32,
  Int32,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  type Data,
} from 'apache-arrow';
import type { Tensor } from '../../kernels/tensor';
import {
  blockHookPoints,
  FINAL_HOOK_POINTS,
  HookError,
  parseHookName,
  type HookModelShape,
} from '../../runtime/hooks';
import type { LlamaModel } from '../../runtime/model/llama';
import { TABLE_KIND_KEY } from '../../runtime/tables';
import { eachWindow, lossWindows } from '../../runtime/windows';
import { NOT_ROWWISE } from './catalogue';
import { mulberry32 } from './prng';

export { collectableHookPoints } from './catalogue';

export const ACTIVATION_COLUMNS = {
  activation: 'activation',
  token: 'token',
  position: 'position',
  window: 'window',
  doc: 'doc',
} as const;

/** Type map of an activation batch. */
export type ActivationTypes = {
  activation: FixedSizeList<Float32>;
  token: Int32;
  position: Int32;
  window: Int32;
  doc: Int32;
};

declare const checked: unique symbol;

/**
 * A hook point name checked once (by `checkSaeHook`) to be collectable in the model: the SAE
 * functions that take one read it without parsing it again.
 */
export type SaeHook = string & { readonly [checked]: true };

/**
 * `hook` as a checked SaeHook, or a HookError listing the valid names when it is not a collectable
 * hook point of the model.
 *
 * @example
 * checkSaeHook(model.config, 'blocks.9.hook_resid_post'); // HookError: … layers 0–4 …
 */
export function checkSaeHook(config: HookModelShape, hook: string): SaeHook {
  const parsed = parseHookName(hook);
  const ok =
    parsed !== null &&
    !NOT_ROWWISE.has(parsed.point) &&
    (parsed.layer === null ||
      (parsed.layer < config.nLayers &&
        (blockHookPoints(config) as readonly string[]).includes(parsed.point)));
  if (ok) return hook as SaeHook;
  const points = blockHookPoints(config).filter((p) => !NOT_ROWWISE.has(p));
  throw new HookError(
    `invalid hook "${hook}": expected blocks.L.POINT with L in 0–${config.nLayers - 1} and POINT one of ` +
      `${points.join(', ')}; or ${FINAL_HOOK_POINTS.join(', ')}`,
  );
}

/** Arrow schema of an activation batch of width d collected at `hook`. */
export function activationSchema(d: number, hook: string): Schema {
  return new Schema(
    [
      new Field(
        ACTIVATION_COLUMNS.activation,
        new FixedSizeList(d, new Field('item', new Float32(), false)),
        false,
      ),
      new Field(ACTIVATION_COLUMNS.token, new Int32(), false),
      new Field(ACTIVATION_COLUMNS.position, new Int32(), false),
      new Field(ACTIVATION_COLUMNS.window, new Int32(), false),
      new Field(ACTIVATION_COLUMNS.doc, new Int32(), false),
    ],
    new Map([
      [TABLE_KIND_KEY, 'sae-activations'],
      ['sparsebook.hook', hook],
      ['sparsebook.d', String(d)],
    ]),
  );
}

/** Plain columns of an activation batch (what the batch is built from and read back into). */
export interface ActivationRows {
  d: number;
  n: number;
  /** [n, d] */
  activation: Float32Array;
  token: Int32Array;
  position: Int32Array;
  window: Int32Array;
  doc: Int32Array;
}

/** A record batch of `schema` from plain columns (the arrays are used as they are, not copied). */
export function activationBatch(rows: ActivationRows, hook: string): RecordBatch<ActivationTypes> {
  const { d, n } = rows;
  if (rows.activation.length !== n * d)
    throw new Error(`activation has ${rows.activation.length} values, expected ${n}×${d}`);
  const schema = activationSchema(d, hook);
  const fields = schema.fields;
  const int = (a: Int32Array) => makeData({ type: new Int32(), length: n, nullCount: 0, data: a });
  const child = makeData({ type: new Float32(), length: n * d, nullCount: 0, data: rows.activation });
  const list = makeData({ type: fields[0]!.type as FixedSizeList<Float32>, length: n, nullCount: 0, child });
  const children: Data[] = [list, int(rows.token), int(rows.position), int(rows.window), int(rows.doc)];
  const data = makeData({ type: new Struct(fields), length: n, nullCount: 0, children });
  return new RecordBatch(schema, data) as unknown as RecordBatch<ActivationTypes>;
}

/** Plain columns of an activation batch (views when the batch's buffers allow, else copies). */
export function activationRows(batch: RecordBatch<ActivationTypes>): ActivationRows {
  const n = batch.numRows;
  const listData = batch.data.children[0] as Data<FixedSizeList<Float32>>;
  const d = listData.type.listSize;
  // Slicing a FixedSizeList slices its child too (arrow-js `_sliceChildren`), so the child's own
  // offset is where this batch's values start.
  const child = listData.children[0] as Data<Float32>;
  const activation = child.values.subarray(child.offset, child.offset + n * d);
  const col = (i: number) => {
    const c = batch.data.children[i] as Data<Int32>;
    return c.values.subarray(c.offset, c.offset + n);
  };
  return { d, n, activation, token: col(1), position: col(2), window: col(3), doc: col(4) };
}

/** Growable-to-capacity row store used to build chunks. */
class RowChunk {
  n = 0;
  readonly activation: Float32Array;
  readonly token: Int32Array;
  readonly position: Int32Array;
  readonly window: Int32Array;
  readonly doc: Int32Array;
  constructor(
    readonly d: number,
    readonly cap: number,
  ) {
    this.activation = new Float32Array(cap * d);
    this.token = new Int32Array(cap);
    this.position = new Int32Array(cap);
    this.window = new Int32Array(cap);
    this.doc = new Int32Array(cap);
  }
  /** Copy row i of `src` into slot `at` (default: append). */
  put(src: ActivationRows, i: number, at = this.n++): void {
    const d = this.d;
    this.activation.set(src.activation.subarray(i * d, (i + 1) * d), at * d);
    this.token[at] = src.token[i]!;
    this.position[at] = src.position[i]!;
    this.window[at] = src.window[i]!;
    this.doc[at] = src.doc[i]!;
  }
  rows(): ActivationRows {
    const n = this.n;
    return {
      d: this.d,
      n,
      activation: this.activation.subarray(0, n * this.d),
      token: this.token.subarray(0, n),
      position: this.position.subarray(0, n),
      window: this.window.subarray(0, n),
      doc: this.doc.subarray(0, n),
    };
  }
}

export interface CollectOptions {
  /** The hook point, e.g. `blocks.2.hook_resid_post`, checked by `checkSaeHook`. */
  hook: SaeHook;
  /** Skip this many windows first (default 0), e.g. to hold out the start of a text. */
  firstWindow?: number;
  /** Run at most this many windows (after `firstWindow`); default all. */
  maxWindows?: number;
  /** Rows per emitted batch (default 4096). */
  chunkRows?: number;
  signal?: AbortSignal;
  /** Called before the first window and after each one. */
  onProgress?: (p: { done: number; total: number }) => void;
}

/** Document index of every stream position, from `buildTokenStream`'s documentStarts. */
function docIndex(n: number, documentStarts: readonly number[]): Int32Array {
  const out = new Int32Array(n);
  let doc = -1;
  let next = documentStarts[0] ?? Infinity;
  for (let i = 0; i < n; i++) {
    while (i >= next) {
      doc++;
      next = documentStarts[doc + 1] ?? Infinity;
    }
    out[i] = Math.max(0, doc);
  }
  return out;
}

/**
 * Run the model over the windows and yield the hook's activations as record batches of at most
 * `chunkRows` rows, in stream order.
 *
 * @example
 * for await (const batch of collectActivations(model, stream, { hook: 'blocks.2.hook_resid_post' })) {
 *   const { activation, n, d } = activationRows(batch);
 * }
 * @throws the signal's reason when aborted.
 */
export async function* collectActivations(
  model: LlamaModel,
  stream: { tokens: Int32Array; documentStarts?: readonly number[] },
  opts: CollectOptions,
): AsyncGenerator<RecordBatch<ActivationTypes>> {
  const { hook, signal, onProgress } = opts;
  const chunkRows = opts.chunkRows ?? 4096;
  if (!(Number.isInteger(chunkRows) && chunkRows >= 1))
    throw new Error(`chunkRows must be an integer ≥ 1, got ${chunkRows}`);
  const { tokens } = stream;
  const docs = docIndex(tokens.length, stream.documentStarts ?? [0]);
  const { firstWindow: first, maxWindows } = opts;
  const windows = lossWindows(tokens.length, model.config.seqLen, { first, maxWindows });
  const backend = model.backend;
  let chunk: RowChunk | undefined;
  for await (const w of eachWindow(tokens, windows, { signal, onProgress })) {
    let act: Float32Array | undefined;
    let width = 0;
    const { inputs } = w;
    const logits = await model.forward(inputs, {
      hooks: {
        [hook]: async (t: Tensor<'f32'>) => {
          width = t.shape[t.shape.length - 1]!;
          act = await backend.read(t);
        },
      },
    });
    backend.dispose(logits);
    if (!act) throw new Error(`hook ${hook} did not run`);
    const d = width;
    if (act.length !== w.length * d)
      throw new Error(`${hook}: ${act.length} values, expected ${w.length}×${d}`);
    const win: ActivationRows = {
      d,
      n: w.length,
      activation: act,
      token: inputs,
      position: Int32Array.from({ length: w.length }, (_, p) => p),
      window: new Int32Array(w.length).fill(w.index),
      doc: docs.subarray(w.start, w.start + w.length),
    };
    for (let i = 0; i < win.n; i++) {
      chunk ??= new RowChunk(d, chunkRows);
      chunk.put(win, i);
      if (chunk.n === chunkRows) {
        yield activationBatch(chunk.rows(), hook);
        chunk = undefined;
      }
    }
  }
  if (chunk && chunk.n > 0) yield activationBatch(chunk.rows(), hook);
}

export interface ShuffleOptions {
  /** Rows held in the buffer (default 16384); larger mixes more windows together. */
  bufferRows?: number;
  /** Seed of the row choice. */
  seed: number;
  /** Rows per emitted batch (default 4096). */
  chunkRows?: number;
}

/**
 * Shuffle a batch stream through a buffer of `bufferRows` rows: the first rows fill it; after that
 * each arriving row replaces a uniformly random buffered row, which is emitted; at the end the
 * remaining rows come out in random order. Every row is emitted exactly once, and the same seed
 * and input give the same order.
 *
 * @example
 * const shuffled = shuffleActivations(collectActivations(model, stream, { hook }), { seed: 1 });
 */
export async function* shuffleActivations(
  source: AsyncIterable<RecordBatch<ActivationTypes>>,
  opts: ShuffleOptions,
): AsyncGenerator<RecordBatch<ActivationTypes>> {
  const bufferRows = opts.bufferRows ?? 16384;
  const chunkRows = opts.chunkRows ?? 4096;
  if (!(Number.isInteger(bufferRows) && bufferRows >= 1))
    throw new Error(`bufferRows must be an integer ≥ 1, got ${bufferRows}`);
  const rng = mulberry32(opts.seed);
  let buffer: RowChunk | undefined;
  let out: RowChunk | undefined;
  let hook = '';
  for await (const batch of source) {
    hook = batch.schema.metadata.get('sparsebook.hook') ?? hook;
    const rows = activationRows(batch);
    buffer ??= new RowChunk(rows.d, bufferRows);
    for (let i = 0; i < rows.n; i++) {
      if (buffer.n < bufferRows) {
        buffer.put(rows, i);
        continue;
      }
      const j = rng.int(bufferRows);
      out ??= new RowChunk(rows.d, chunkRows);
      out.put(buffer.rows(), j);
      buffer.put(rows, i, j);
      if (out.n === chunkRows) {
        yield activationBatch(out.rows(), hook);
        out = undefined;
      }
    }
  }
  if (!buffer) return;
  // Drain: a Fisher–Yates order of what is left.
  const rest = buffer.rows();
  const order = Int32Array.from({ length: rest.n }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  for (const i of order) {
    out ??= new RowChunk(rest.d, chunkRows);
    out.put(rest, i);
    if (out.n === chunkRows) {
      yield activationBatch(out.rows(), hook);
      out = undefined;
    }
  }
  if (out && out.n > 0) yield activationBatch(out.rows(), hook);
}

/**
 * Re-cut a batch stream into float32 arrays of exactly `batchSize` rows ([batchSize, d],
 * row-major), what `SaeTrainer.step` takes. A shorter last batch is yielded unless `dropLast`.
 *
 * @example
 * for await (const x of activationBatches(shuffled, 4096)) trainer.step(x);
 */
export async function* activationBatches(
  source: AsyncIterable<RecordBatch<ActivationTypes>>,
  batchSize: number,
  opts: { dropLast?: boolean } = {},
): AsyncGenerator<Float32Array> {
  if (!(Number.isInteger(batchSize) && batchSize >= 1))
    throw new Error(`batchSize must be an integer ≥ 1, got ${batchSize}`);
  let cur: Float32Array | undefined;
  let filled = 0;
  for await (const batch of source) {
    const { d, n, activation } = activationRows(batch);
    let i = 0;
    while (i < n) {
      cur ??= new Float32Array(batchSize * d);
      const take = Math.min(batchSize - filled, n - i);
      cur.set(activation.subarray(i * d, (i + take) * d), filled * d);
      filled += take;
      i += take;
      if (filled === batchSize) {
        yield cur;
        cur = undefined;
        filled = 0;
      }
    }
  }
  if (cur && filled > 0 && !opts.dropLast) yield cur.slice(0, (filled * cur.length) / batchSize);
}
