import type { Tensor } from './tensor';
import type { GpuContext } from './gpu-context';
import { grid } from './gpu-context';
import { gpu } from './gpu-tensor';
import { checkWriteColumns } from './write-columns.cpu';
import source from './write-columns.wgsl?raw';

/** WebGPU `writeColumns`: src [R, n] into columns colOffset..colOffset+n of dst [R, N], in place. */
export function writeColumnsGpu(
  ctx: GpuContext,
  dst: Tensor<'f32'>,
  src: Tensor<'f32'>,
  colOffset: number,
): void {
  const [rows, n, cols] = checkWriteColumns(dst, src, colOffset);
  gpu(dst);
  gpu(src);
  if (src === dst) throw new Error('writeColumns: src and dst are the same tensor');
  const count = rows * cols;
  if (count === 0) return;
  ctx.dispatch({
    key: 'write-columns',
    code: () => source,
    tensors: [dst, src],
    uniforms: [{ u32: count }, { u32: cols }, { u32: n }, { u32: colOffset }],
    workgroups: grid(Math.ceil(count / 256)),
  });
}
