import type { Tensor } from './tensor';
import { cpu } from './cpu-tensor';

/** Reference in-place row copy: src [T, D] into dst [N, D] at rowOffset (KV cache append). */
export function writeRowsCpu(dst: Tensor<'f32'>, src: Tensor<'f32'>, rowOffset: number): void {
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
  cpu(dst).data.set(cpu(src).data, rowOffset * d);
}
