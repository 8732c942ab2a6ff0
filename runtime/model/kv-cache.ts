/**
 * Key/value cache for incremental decoding: per layer one k and one v tensor [capacity, kvDim],
 * filled with `backend.writeRows` as positions are processed (llama2.c keeps the same layout per
 * layer: key_cache[l][pos][kv_dim]).
 */
import type { Backend } from '../../kernels/backend';
import type { Tensor } from '../../kernels/tensor';
import type { LlamaConfig } from './llama-config';

export class KvCache {
  readonly k: Tensor<'f32'>[];
  readonly v: Tensor<'f32'>[];
  /** Number of positions filled (the next forward starts here by default). */
  length = 0;
  private disposed = false;

  /** Allocate zeroed caches; `capacity` defaults to the model's seqLen. */
  constructor(
    private readonly backend: Backend,
    readonly config: Pick<LlamaConfig, 'nLayers' | 'kvDim' | 'seqLen'>,
    readonly capacity: number = config.seqLen,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > config.seqLen) {
      throw new RangeError(`KV cache capacity ${capacity} must be an integer in [1, ${config.seqLen}]`);
    }
    const make = () => backend.zeros([capacity, config.kvDim], 'f32') as Tensor<'f32'>;
    this.k = Array.from({ length: config.nLayers }, make);
    this.v = Array.from({ length: config.nLayers }, make);
  }

  /** Forget all positions (the buffers are reused; stale rows are never attended). */
  reset(): void {
    this.length = 0;
  }

  /** Free the cache tensors. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.backend.dispose(...this.k, ...this.v);
  }

  /** Throws when the cache was disposed (use after free would read garbage on WebGPU). */
  assertUsable(): void {
    if (this.disposed) throw new Error('KV cache used after dispose()');
  }
}
