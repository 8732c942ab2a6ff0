import type { ActivationKind } from './backend';
import type { Tensor } from './tensor';
import { assertDType } from './tensor';
import { gpu } from './gpu-tensor';
import type { GpuContext } from './gpu-context';
import { grid } from './gpu-context';
import { sameShape } from './shapes';
import { specialize } from './wgsl';
import { activationKindIndex } from './activation.cpu';
import source from './activation.wgsl?raw';

/** WebGPU dispatcher of `activation`: one thread per element, one pipeline per kind. */
export function activationGpu(ctx: GpuContext, x: Tensor<'f32'>, kind: ActivationKind): Tensor<'f32'> {
  const k = activationKindIndex(kind, 'activation');
  assertDType(gpu(x), 'f32', 'activation');
  const out = ctx.createTensor(x.shape, 'f32');
  ctx.dispatch({
    key: `activation:${kind}`,
    code: () => specialize(source, { KIND: k }, { GATED: false }),
    tensors: [x, out],
    uniforms: [{ u32: x.size }],
    workgroups: grid(Math.ceil(x.size / 256)),
  });
  return out;
}

/** WebGPU dispatcher of `gatedActivation` (act(gate)·up): one thread per element. */
export function gatedActivationGpu(
  ctx: GpuContext,
  gate: Tensor<'f32'>,
  up: Tensor<'f32'>,
  kind: ActivationKind,
): Tensor<'f32'> {
  sameShape(gate.shape, up.shape, 'gatedActivation');
  const k = activationKindIndex(kind, 'gatedActivation');
  for (const t of [gate, up]) assertDType(gpu(t), 'f32', 'gatedActivation');
  const out = ctx.createTensor(gate.shape, 'f32');
  ctx.dispatch({
    key: `gatedActivation:${kind}`,
    code: () => specialize(source, { KIND: k }, { GATED: true }),
    tensors: [gate, up, out],
    uniforms: [{ u32: gate.size }],
    workgroups: grid(Math.ceil(gate.size / 256)),
  });
  return out;
}
