import type { RopeOptions, RopeScaling } from './backend';
import type { Tensor } from './tensor';
import { assertDType } from './tensor';
import type { GpuContext } from './gpu-context';
import { grid } from './gpu-context';
import { GpuTensor, gpu } from './gpu-tensor';
import { ropeDims, ropeInvFreq } from './rope.cpu';
import { specialize } from './wgsl';
import source from './rope.wgsl?raw';

interface RopeTable {
  tensor: GpuTensor<'f32'>;
  positions: number;
}

/** cos/sin tables per context and frequency set; they live as long as the device. */
const tables = new WeakMap<GpuContext, Map<string, RopeTable>>();

function scalingKey(s: RopeScaling | undefined): string {
  if (!s) return 'none';
  return s.type === 'linear'
    ? `linear:${s.factor}`
    : `llama3:${s.factor}:${s.lowFreqFactor}:${s.highFreqFactor}:${s.originalMaxPositions}`;
}

/**
 * The (cos, sin) table of positions 0..positions-1 × pairs 0..rotaryDim/2-1, computed in f64 on
 * the host from `ropeInvFreq`, the CPU reference's own frequencies (scaling included), and rounded
 * once to f32: the GPU thus uses exactly the reference's angles, which it could not reproduce with
 * WGSL's pow/sin/cos. It grows by doubling, so generation uploads it O(log seqLen) times. Its
 * buffer is not pooled (it is not a tensor anyone disposes); device.destroy() frees it.
 */
function ropeTable(
  ctx: GpuContext,
  rotaryDim: number,
  theta: number,
  scaling: RopeScaling | undefined,
  needed: number,
): GpuTensor<'f32'> {
  let perCtx = tables.get(ctx);
  if (!perCtx) tables.set(ctx, (perCtx = new Map()));
  const key = `${rotaryDim}:${theta}:${scalingKey(scaling)}`;
  const cached = perCtx.get(key);
  if (cached && cached.positions >= needed) return cached.tensor;

  const half = rotaryDim / 2;
  const positions = Math.max(64, 2 ** Math.ceil(Math.log2(needed)));
  const bytes = positions * half * 8;
  if (bytes > ctx.device.limits.maxStorageBufferBindingSize) {
    throw new Error(
      `rope: positions up to ${needed - 1} need a ${bytes}-byte cos/sin table, over this device's limit`,
    );
  }
  const invFreq = ropeInvFreq(theta, rotaryDim, scaling);
  const data = new Float32Array(positions * half * 2);
  for (let i = 0; i < half; i++) {
    const freq = invFreq[i]!;
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

/**
 * WebGPU dispatcher of `rope`: one thread per pair slot of each head (rotated pair or two
 * pass-through dims), interleaved or half-split, over the leading rotaryDim dims of each head.
 */
export function ropeGpu(ctx: GpuContext, x: Tensor<'f32'>, opts: RopeOptions): Tensor<'f32'> {
  // Same checks and messages as ropeCpu.
  const c = ropeDims(x.shape, opts);
  assertDType(gpu(x), 'f32', 'rope');
  const out = ctx.createTensor(x.shape, 'f32');
  if (x.size === 0) return out;
  const table = ropeTable(ctx, c.rotaryDim, c.theta, c.scaling, c.pos0 + c.rows);
  const pairs = x.size / 2;
  ctx.dispatch({
    key: `rope:${c.style}`,
    code: () => specialize(source, {}, { HALF: c.style === 'half' }),
    tensors: [x, table, out],
    uniforms: [
      { u32: pairs },
      { u32: c.cols / 2 },
      { u32: c.headDim / 2 },
      { u32: c.rotaryDim / 2 },
      { u32: c.pos0 },
    ],
    workgroups: grid(Math.ceil(pairs / 256)),
  });
  return out;
}
