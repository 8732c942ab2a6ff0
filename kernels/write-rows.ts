import type { Tensor } from './tensor';
import type { GpuContext } from './gpu-context';
import { gpu } from './gpu-tensor';

/**
 * WebGPU `writeRows`: copy src [T, D] into rows rowOffset..rowOffset+T of dst [N, D], in place (KV
 * cache append). Rows are contiguous in both, so this is one copyBufferToBuffer, no shader; it is
 * recorded in order with the batched passes, so it lands after earlier ops and before later ones.
 */
export function writeRowsGpu(
  ctx: GpuContext,
  dst: Tensor<'f32'>,
  src: Tensor<'f32'>,
  rowOffset: number,
): void {
  // Same checks and messages as writeRowsCpu.
  const d = dst.shape[dst.shape.length - 1]!;
  if (src.shape[src.shape.length - 1] !== d) {
    throw new Error(
      `writeRows: row widths differ: dst [${dst.shape.join(', ')}], src [${src.shape.join(', ')}]`,
    );
  }
  const rows = src.size / d;
  const dstRows = dst.size / d;
  if (!Number.isInteger(rowOffset) || rowOffset < 0 || rowOffset + rows > dstRows) {
    throw new Error(`writeRows: rows ${rowOffset}..${rowOffset + rows - 1} do not fit in ${dstRows} rows`);
  }
  gpu(dst);
  gpu(src);
  if (src.dtype !== dst.dtype)
    throw new Error(`writeRows: dtypes differ: dst ${dst.dtype}, src ${src.dtype}`);
  // Writing a tensor onto itself can only be the identity (it fits only at offset 0); WebGPU
  // rejects a copy within one buffer, so skip it.
  if (src === dst || src.size === 0) return;
  ctx.copy(src, 0, dst, rowOffset * d * 4, src.size * 4);
}
