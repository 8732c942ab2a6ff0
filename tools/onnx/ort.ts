/** onnxruntime-web in Node: one session per graph, logits for a token sequence. */
import * as ort from 'onnxruntime-web';

export interface OrtRunner {
  run(tokens: ArrayLike<number>): Promise<Float32Array>;
  release(): Promise<void>;
}

/** A session on the wasm EP with `threads` threads (set before the first session, as ORT requires). */
export async function ortSession(graph: Uint8Array, threads = 1): Promise<OrtRunner> {
  ort.env.wasm.numThreads = threads;
  const session = await ort.InferenceSession.create(graph, { executionProviders: ['wasm'] });
  return {
    async run(tokens) {
      const ids = BigInt64Array.from(Array.from(tokens, (t) => BigInt(t)));
      const out = await session.run({ tokens: new ort.Tensor('int64', ids, [ids.length]) });
      return out.logits!.data as Float32Array;
    },
    release: () => session.release(),
  };
}
