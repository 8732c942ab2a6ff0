import type { TopKResult } from './backend';
import type { Tensor } from './tensor';
import type { GpuContext } from './gpu-context';
import { grid } from './gpu-context';
import { sizeOf } from './tensor';
import { specialize } from './wgsl';
import source from './topk.wgsl?raw';

const WG = 64;
/**
 * Largest k kept in a private-memory heap (2 KiB at 256, well inside the 8 KiB of private memory
 * WGSL guarantees); above it the O(cols²) rank program runs instead.
 */
export const TOPK_INSERT_MAX = 256;
/** Invocations worth having in flight: rows below this are split into chunks and merged. */
const TARGET_INVOCATIONS = 256;

/** Rows and columns of x [..., C] (mirrors the CPU reference, so both reject alike). */
function topkDims(shape: readonly number[], k: number): { rows: number; cols: number } {
  const cols = shape[shape.length - 1] ?? 1;
  const rows = cols === 0 ? 0 : sizeOf(shape) / cols;
  if (!Number.isInteger(k) || k < 1 || k > cols)
    throw new Error(`topk: k=${k} must be an integer in [1, ${cols}]`);
  return { rows, cols };
}

/**
 * How many chunks to split each row into. Few rows leave the GPU idle, so a row is cut into
 * chunks (each producing its own top-k) and the chunk lists merged in a second pass. A chunk
 * scans at least 16× the candidates the merge does (cols/chunks ≥ 16·chunks·k), since the merge
 * inserts far more often than a scan of random data.
 */
export function topkChunks(rows: number, cols: number, k: number): number {
  if (k > TOPK_INSERT_MAX || rows >= TARGET_INVOCATIONS) return 1;
  const wanted = Math.ceil(TARGET_INVOCATIONS / Math.max(rows, 1));
  return Math.max(1, Math.min(wanted, Math.floor(Math.sqrt(cols / (16 * k)))));
}

/** WebGPU row-wise top-k (see `Backend.topk`): values descending, ties to the lower index. */
export function topkGpu(ctx: GpuContext, x: Tensor<'f32'>, k: number): TopKResult {
  const { rows, cols } = topkDims(x.shape, k);
  const outShape = [...x.shape.slice(0, -1), k];
  const values = ctx.createTensor(outShape, 'f32');
  const indices = ctx.createTensor(outShape, 'i32');
  if (k > TOPK_INSERT_MAX) {
    ctx.dispatch({
      key: `topk:rank:k${k}:wg${WG}`,
      code: () => specialize(source, { K: k, WG }, { INSERT: false, SCRATCH: false }),
      tensors: [x, values, indices],
      uniforms: [{ u32: rows }, { u32: cols }, { u32: 1 }, { u32: cols }, { f32: -Infinity }],
      workgroups: grid(Math.ceil((rows * cols) / WG)),
    });
    return { values, indices };
  }
  const chunks = topkChunks(rows, cols, k);
  const chunkLen = Math.ceil(cols / chunks);
  if (chunks === 1) {
    insert(ctx, k, [x, values, indices], false, rows, cols, 1, cols);
    return { values, indices };
  }
  const partValues = ctx.createTensor([rows, chunks, k], 'f32');
  const partIndices = ctx.createTensor([rows, chunks, k], 'i32');
  insert(ctx, k, [x, partValues, partIndices], false, rows, cols, chunks, chunkLen);
  insert(ctx, k, [partValues, partIndices, values, indices], true, rows, chunks * k, 1, chunks * k);
  ctx.release(partValues);
  ctx.release(partIndices);
  return { values, indices };
}

function insert(
  ctx: GpuContext,
  k: number,
  tensors: Tensor[],
  scratch: boolean,
  rows: number,
  cols: number,
  chunks: number,
  chunkLen: number,
): void {
  ctx.dispatch({
    key: `topk:insert:k${k}:wg${WG}:${scratch ? 'merge' : 'scan'}`,
    code: () => specialize(source, { K: k, WG }, { INSERT: true, SCRATCH: scratch }),
    tensors,
    uniforms: [{ u32: rows }, { u32: cols }, { u32: chunks }, { u32: chunkLen }, { f32: -Infinity }],
    workgroups: grid(Math.ceil((rows * chunks) / WG)),
  });
}
