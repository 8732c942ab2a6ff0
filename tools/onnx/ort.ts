/** onnxruntime-web in Node: one session per graph on the wasm or the webgpu EP, logits for tokens. */
import type * as Ort from 'onnxruntime-web';

export interface OrtRunner {
  run(tokens: ArrayLike<number>): Promise<Float32Array>;
  release(): Promise<void>;
}

export type OrtEp = { ep: 'wasm'; threads: number } | { ep: 'webgpu'; gpu: GPU };

/**
 * A session for `graph`. wasm: `threads` threads (ORT reads numThreads before its first session).
 * webgpu: ORT's WebGPU bundle on Dawn's `gpu` (the `webgpu` package), which it finds as
 * navigator.gpu.
 */
export async function ortSession(graph: Uint8Array, how: OrtEp): Promise<OrtRunner> {
  let ort: typeof Ort;
  if (how.ep === 'wasm') {
    ort = await import('onnxruntime-web');
    ort.env.wasm.numThreads = how.threads;
  } else {
    exposeToOrt(how.gpu);
    ort = (await import('onnxruntime-web/webgpu')) as typeof Ort;
  }
  const session = await ort.InferenceSession.create(graph, { executionProviders: [how.ep] });
  return {
    async run(tokens) {
      const ids = BigInt64Array.from(Array.from(tokens, (t) => BigInt(t)));
      const out = await session.run({ tokens: new ort.Tensor('int64', ids, [ids.length]) });
      return out.logits!.data as Float32Array;
    },
    release: () => session.release(),
  };
}

/**
 * navigator.gpu for ORT, and one shim: ORT's threaded wasm build writes to GPU buffers straight from
 * its shared wasm memory, which Dawn for Node rejects ("Invalid argument") — a browser accepts it.
 * Views over a SharedArrayBuffer are copied (same element type, so offsets keep their unit).
 */
function exposeToOrt(gpu: GPU): void {
  Object.defineProperty(globalThis, 'navigator', {
    value: { ...(globalThis as { navigator?: object }).navigator, gpu },
    configurable: true,
  });
  const proto = (globalThis as unknown as { GPUQueue: { prototype: GPUQueue } }).GPUQueue.prototype;
  const write = proto.writeBuffer as (this: GPUQueue, ...args: unknown[]) => undefined;
  if ((write as { shimmed?: true }).shimmed) return;
  const shim = function (
    this: GPUQueue,
    buffer: GPUBuffer,
    offset: number,
    data: BufferSource,
    ...rest: number[]
  ) {
    const shared = ArrayBuffer.isView(data) && data.buffer instanceof SharedArrayBuffer;
    const copy = !shared
      ? data
      : data instanceof DataView
        ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice()
        : (data as unknown as { slice(): BufferSource }).slice();
    return write.call(this, buffer, offset, copy, ...rest);
  };
  Object.assign(shim, { shimmed: true });
  proto.writeBuffer = shim as GPUQueue['writeBuffer'];
}
