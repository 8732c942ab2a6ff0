import type { Tensor } from './tensor';
import { cpu } from './cpu-tensor';

/** The checks `writeColumns` makes on both backends; returns [rows, dst columns, src columns]. */
export function checkWriteColumns(
  dst: Tensor<'f32'>,
  src: Tensor<'f32'>,
  colOffset: number,
): [rows: number, n: number, cols: number] {
  if (dst.shape.length !== 2 || src.shape.length !== 2 || dst.shape[0] !== src.shape[0]) {
    throw new Error(
      `writeColumns: expected dst [R, N] and src [R, n] with the same rows, got dst [${dst.shape.join(', ')}], src [${src.shape.join(', ')}]`,
    );
  }
  const [rows, n] = dst.shape as [number, number];
  const cols = src.shape[1]!;
  if (!Number.isInteger(colOffset) || colOffset < 0 || colOffset + cols > n) {
    throw new Error(`writeColumns: columns ${colOffset}..${colOffset + cols - 1} do not fit in ${n} columns`);
  }
  if (dst.dtype !== 'f32' || src.dtype !== 'f32')
    throw new Error(`writeColumns: expected f32 tensors, got dst ${dst.dtype}, src ${src.dtype}`);
  return [rows, n, cols];
}

/** Reference in-place column copy: src [R, n] into columns colOffset..colOffset+n of dst [R, N]. */
export function writeColumnsCpu(dst: Tensor<'f32'>, src: Tensor<'f32'>, colOffset: number): void {
  const [rows, n, cols] = checkWriteColumns(dst, src, colOffset);
  const D = cpu(dst).data;
  const S = cpu(src).data;
  for (let r = 0; r < rows; r++) D.set(S.subarray(r * cols, (r + 1) * cols), r * n + colOffset);
}
