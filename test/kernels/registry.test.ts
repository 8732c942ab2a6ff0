/**
 * The kernel registry (`OPS`) against the backends: every kernel method of a backend is an OPS
 * entry and every OPS entry is a backend method, on both backends (both are built from OPS); on
 * the CPU the method is the registry's own function.
 */
import { describe, expect, it } from 'vitest';
import { OPS } from '../../kernels';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { WebGpuBackend } from '../../kernels/webgpu-backend';

/** Backend members that are not kernels (tensor lifecycle and identity). */
const NOT_KERNELS = new Set([
  'kind',
  'description',
  'tensor',
  'adoptTensor',
  'weightTensor',
  'maxTensorBytes',
  'weightPrecision',
  'zeros',
  'read',
  'dispose',
  'sync',
  'destroy',
  'limits',
  'ctx',
  'constructor',
]);

function kernelMethods(names: Iterable<string>, has: (n: string) => boolean): string[] {
  return [...names].filter((n) => !NOT_KERNELS.has(n) && !n.startsWith('_') && has(n)).sort();
}

describe('OPS registry', () => {
  const ops = Object.keys(OPS).sort();

  it('the CPU backend runs exactly the registered ops, each the registry function itself', () => {
    const cpu = createCpuBackend() as unknown as Record<string, unknown>;
    expect(kernelMethods(Object.keys(cpu), (n) => typeof cpu[n] === 'function')).toEqual(ops);
    for (const name of ops) expect(cpu[name], name).toBe(OPS[name as keyof typeof OPS].cpu);
  });

  it('the WebGPU backend has a method for every registered op and no unregistered kernel', () => {
    const proto = WebGpuBackend.prototype as unknown as Record<string, unknown>;
    const names = Object.getOwnPropertyNames(WebGpuBackend.prototype);
    const isMethod = (n: string) => {
      const d = Object.getOwnPropertyDescriptor(WebGpuBackend.prototype, n);
      return typeof d?.value === 'function' && typeof proto[n] === 'function';
    };
    expect(kernelMethods(names, isMethod)).toEqual(ops);
  });
});
