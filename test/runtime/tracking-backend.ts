/**
 * A Backend wrapper that counts live tensors, to prove the runtime disposes every intermediate
 * (the CPU backend's dispose is a no-op, so leaks would otherwise only show on WebGPU).
 */
import type { Backend } from '../../kernels/backend';
import type { Tensor } from '../../kernels/tensor';

export interface TrackingBackend extends Backend {
  /** Tensors created and not yet disposed. */
  readonly live: Set<Tensor>;
  /** Disposing a tensor twice or one never created here. */
  readonly badDisposals: number;
}

export function trackingBackend(inner: Backend): TrackingBackend {
  const live = new Set<Tensor>();
  let badDisposals = 0;
  const track = (r: unknown): unknown => {
    if (r && typeof r === 'object') {
      if ('shape' in r && 'dtype' in r) live.add(r as Tensor);
      else
        for (const v of Object.values(r))
          if (v && typeof v === 'object' && 'shape' in v) live.add(v as Tensor);
    }
    return r;
  };
  const wrapped: Record<string, unknown> = {};
  for (const key of Object.keys(inner) as (keyof Backend)[]) {
    const v = inner[key];
    wrapped[key] =
      typeof v === 'function'
        ? (...args: unknown[]) => track((v as (...a: unknown[]) => unknown)(...args))
        : v;
  }
  wrapped.read = (t: Tensor) => inner.read(t);
  wrapped.writeRows = (dst: Tensor<'f32'>, src: Tensor<'f32'>, row: number) => inner.writeRows(dst, src, row);
  wrapped.dispose = (...ts: (Tensor | undefined)[]) => {
    for (const t of ts) {
      if (!t) continue;
      if (!live.delete(t)) badDisposals++;
    }
    inner.dispose(...ts);
  };
  Object.defineProperty(wrapped, 'live', { get: () => live });
  Object.defineProperty(wrapped, 'badDisposals', { get: () => badDisposals });
  return wrapped as unknown as TrackingBackend;
}
