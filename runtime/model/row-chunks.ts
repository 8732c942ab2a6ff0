/**
 * A [rows, cols] weight that may be too large for one kernel binding (WebGPU's
 * maxStorageBufferBindingSize: Gemma 3's 262,144 × 640 embedding is 335 MB in bf16), held as
 * consecutive row blocks, each within the backend's `maxTensorBytes`. The embedding gather runs
 * per block (ids outside a block give zeros; the blocks' results are summed, exactly, since each
 * row comes from one block) and the unembedding matmul runs per block, each writing its columns
 * of the logits. A weight that fits is one block, and both then cost what one kernel does.
 */
import type { Backend } from '../../kernels/backend';
import type { FloatDType, Tensor } from '../../kernels/tensor';
import {
  halfArray,
  isHalf,
  storageBytes,
  weightDTypeOf,
  type WeightArray,
  type WeightDType,
} from '../../kernels/weight-dtype';
import type { TensorScope } from './tensor-scope';

export interface RowChunks {
  readonly rows: number;
  readonly cols: number;
  /** Consecutive blocks of rows: block i holds rows row0 .. row0 + tensor.shape[0] − 1. */
  readonly parts: readonly { readonly row0: number; readonly tensor: Tensor<FloatDType> }[];
}

/**
 * Where a [rows, cols] weight of `dtype` is cut so that every block fits `maxBytes` (the start
 * row of each block; [0] when it fits whole).
 *
 * @throws when not even one row fits.
 */
export function rowBlockStarts(rows: number, cols: number, dtype: WeightDType, maxBytes: number): number[] {
  if (storageBytes(dtype, rows * cols) <= maxBytes) return [0];
  let per = Math.floor(maxBytes / Math.max(1, cols * (dtype === 'f32' ? 4 : 2)));
  while (per > 0 && storageBytes(dtype, per * cols) > maxBytes) per--;
  if (per < 1) {
    throw new Error(
      `a row of ${cols} ${dtype} values needs ${storageBytes(dtype, cols)} bytes, more than the ${maxBytes}-byte limit of one tensor`,
    );
  }
  const starts: number[] = [];
  for (let r = 0; r < rows; r += per) starts.push(r);
  return starts;
}

/** Rows [r0, r1) of a [*, cols] weight, as a view (no copy). */
function rowView(data: WeightArray, cols: number, r0: number, r1: number): WeightArray {
  if (isHalf(data)) return halfArray(data.dtype, data.bits.subarray(r0 * cols, r1 * cols));
  return data.subarray(r0 * cols, r1 * cols);
}

/**
 * Upload `data` [rows, cols] with `up`, in as many row blocks as `maxBytes` requires. The blocks
 * are views of `data`: with an adopting `up` on the CPU they share its buffer.
 */
export function uploadRowChunks(
  up: (data: WeightArray, shape: number[]) => Tensor<FloatDType>,
  data: WeightArray,
  rows: number,
  cols: number,
  maxBytes: number,
): RowChunks {
  const starts = rowBlockStarts(rows, cols, weightDTypeOf(data), maxBytes);
  const parts = starts.map((row0, i) => {
    const end = starts[i + 1] ?? rows;
    const view = starts.length === 1 ? data : rowView(data, cols, row0, end);
    return { row0, tensor: up(view, [end - row0, cols]) };
  });
  return { rows, cols, parts };
}

/** The tensors of a weight's blocks, for dispose. */
export function chunkTensors(w: RowChunks): Tensor<FloatDType>[] {
  return w.parts.map((p) => p.tensor);
}

/** table[ids] [T, cols], block by block (owned by the scope). */
export function embedRows(
  b: Backend,
  table: RowChunks,
  ids: Tensor<'i32'>,
  scope: TensorScope,
): Tensor<'f32'> {
  if (table.parts.length === 1) return scope.own(b.embedding(table.parts[0]!.tensor, ids));
  let sum: Tensor<'f32'> | undefined;
  for (const { row0, tensor } of table.parts) {
    const part = scope.own(b.embedding(tensor, ids, { rowOffset: row0 }));
    if (!sum) {
      sum = part;
      continue;
    }
    const next = scope.own(b.add(sum, part));
    scope.drop(sum, part);
    sum = next;
  }
  return sum!;
}

/** x [T, cols] · wᵀ → [T, rows], block by block (owned by the scope). */
export function unembedRows(b: Backend, x: Tensor<'f32'>, w: RowChunks, scope: TensorScope): Tensor<'f32'> {
  if (w.parts.length === 1) return scope.own(b.matmul(x, w.parts[0]!.tensor, { transposeB: true }));
  const out = scope.own(b.zeros([x.shape[0]!, w.rows]) as Tensor<'f32'>);
  for (const { row0, tensor } of w.parts) {
    const part = b.matmul(x, tensor, { transposeB: true });
    b.writeColumns(out, part, row0);
    b.dispose(part);
  }
  return out;
}
