import type { Tensor } from './tensor';
import { assertDType } from './tensor';
import type { GpuContext } from './gpu-context';
import { grid } from './gpu-context';
import { GpuTensor, gpu } from './gpu-tensor';
import source from './rope.wgsl?raw';

interface RopeTable {
  tensor: GpuTensor<'f32'>;
  positions: number;
}

/** cos/sin tables per context and (headDim, theta); they live as long as the device. */
const tables = new WeakMap<GpuContext, Map<string, RopeTable>>();

/**
 * The (cos, sin) table of positions 0..positions-1 × pairs 0..headDim/2-1, computed in f64 on the
 * host like the CPU reference. It grows by doubling, so generation uploads it O(log seqLen) times.
 * Its buffer is not pooled (it is not a tensor anyone disposes); device.destroy() frees it.
 */
function ropeTable(ctx: GpuContext, headDim: number, theta: number, needed: number): GpuTensor<'f32'> {
  let perCtx = tables.get(ctx);
  if (!perCtx) tables.set(ctx, (perCtx = new Map()));
  const key = `${headDim}:${theta}`;
  const cached = perCtx.get(key);
  if (cached && cached.positions >= needed) return cached.tensor;

  const half = headDim / 2;
  const positions = Math.max(64, 2 ** Math.ceil(Math.log2(needed)));
  const bytes = positions * half * 8;
  if (bytes > ctx.device.limits.maxStorageBufferBindingSize) {
    throw new Error(
      `rope: positions up to ${needed - 1} need a ${bytes}-byte cos/sin table, over this device's limit`,
    );
  }
  const data = new Float32Array(positions * half * 2);
  for (let i = 0; i < half; i++) {
    const freq = 1 / Math.pow(theta, (2 * i) / headDim);
    for (let pos = 0; pos < positions; pos++) {
      const angle = pos * freq;
      data[(pos * half + i) * 2] = Math.cos(angle);
      data[(pos * half + i) * 2 + 1] = Math.sin(angle);
    }
  }
  const buffer = ctx.device.createBuffer({
    label: `rope table ${key}`,
    size: data.byteLength,
    usage: GPUBufferUsage.STORAGE,
    mappedAtCreation: true,
  });
  new Float32Array(buffer.getMappedRange()).set(data);
  buffer.unmap();
  if (cached) {
    // Passes already recorded may still read the old table: submit them before destroying it.
    ctx.flush();
    cached.tensor.buffer.destroy();
  }
  const tensor = new GpuTensor<'f32'>(buffer, [positions, half, 2], 'f32');
  perCtx.set(key, { tensor, positions });
  return tensor;
}

/** WebGPU dispatcher of `rope` (llama2.c layout): one thread per rotated pair. */
export function ropeGpu(
  ctx: GpuContext,
  x: Tensor<'f32'>,
  headDim: number,
  pos0: number,
  theta: number,
): Tensor<'f32'> {
  // Same check and message as ropeCpu.
  const cols = x.shape[x.shape.length - 1] ?? 1;
  const rows = cols === 0 ? 0 : x.size / cols;
  if (headDim <= 0 || headDim % 2 !== 0 || cols % headDim !== 0) {
    throw new Error(`rope: headDim ${headDim} must be even and divide the row width ${cols}`);
  }
  if (!Number.isInteger(pos0) || pos0 < 0) {
    throw new Error(`rope: pos0 must be a non-negative integer, got ${pos0}`);
  }
  assertDType(gpu(x), 'f32', 'rope');
  const out = ctx.createTensor(x.shape, 'f32');
  if (x.size === 0) return out;
  const table = ropeTable(ctx, headDim, theta, pos0 + rows);
  const pairs = x.size / 2;
  ctx.dispatch({
    key: 'rope',
    code: () => source,
    tensors: [x, table, out],
    uniforms: [{ u32: pairs }, { u32: cols / 2 }, { u32: headDim / 2 }, { u32: pos0 }],
    workgroups: grid(Math.ceil(pairs / 256)),
  });
  return out;
}
