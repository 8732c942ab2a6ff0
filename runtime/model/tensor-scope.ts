/**
 * Ownership bookkeeping for one forward pass. Every intermediate tensor is tracked here and
 * disposed as soon as it is dead; if a hook or op throws midway, `disposeAll` frees whatever is
 * still alive. This matters on WebGPU, where tensors are pooled GPU buffers.
 */
import type { Backend } from '../../kernels/backend';
import type { Tensor } from '../../kernels/tensor';

export class TensorScope {
  private readonly live = new Set<Tensor>();

  constructor(private readonly backend: Backend) {}

  /** Track a tensor this pass owns; returns it for chaining. */
  own<T extends Tensor>(t: T): T {
    this.live.add(t);
    return t;
  }

  /** Dispose owned tensors now. Untracked tensors (weights, KV cache) are left alone. */
  drop(...ts: (Tensor | undefined)[]): void {
    for (const t of ts) {
      if (t && this.live.delete(t)) this.backend.dispose(t);
    }
  }

  /** Stop tracking `t` (it is handed to the caller) and return it. */
  release<T extends Tensor>(t: T): T {
    this.live.delete(t);
    return t;
  }

  /** Swap `original` for a hook's `replacement`: dispose the first, own the second. */
  replace(original: Tensor, replacement: Tensor): void {
    this.drop(original);
    this.own(replacement);
  }

  /** Dispose everything still tracked (error path). */
  disposeAll(): void {
    for (const t of this.live) this.backend.dispose(t);
    this.live.clear();
  }

  /** Number of tensors still tracked (tests assert 0 after a pass). */
  get size(): number {
    return this.live.size;
  }
}
