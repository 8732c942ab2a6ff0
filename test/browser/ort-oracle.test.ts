/**
 * onnxruntime-web (wasm EP) as an oracle inside Chromium — the browser twin of
 * test/oracle/ort-oracle.test.ts. Everything runs in the page: the model files are fetched from
 * the test server, the ONNX graph is built from their bytes (tools/onnx/model-graph.ts), ORT's wasm
 * EP runs it on one thread (the page is not cross-origin isolated), and Sparsebook's CPU backend
 * must give the same logits within 1e-4.
 */
import * as ort from 'onnxruntime-web/wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { loadLlama2c } from '../../runtime';
import { hfCheckpoint } from '../../runtime/formats/hf-checkpoint';
import { parseHfConfig } from '../../runtime/formats/hf-config';
import { parseSafetensors } from '../../runtime/formats/safetensors';
import { LlamaModel } from '../../runtime/model/llama';
import { modelGraph, type ModelBytes, type Perturbation } from '../../tools/onnx/model-graph';
import { maxAbsDiff } from '../kernels/harness';
import { fetchRepoFile, fetchShared } from './shared-files';

const TOKENS = 48;
const TOLERANCE = 1e-4;

// Under Vite, ORT's own `import.meta.url` points into the pre-bundled deps: serve its wasm and
// loader from the package. numThreads must be set before the first session.
ort.env.wasm.wasmPaths = '/node_modules/onnxruntime-web/dist/';
ort.env.wasm.numThreads = 1;

/** Token ids spread over the whole vocabulary (the Node test's LCG: the same every run). */
function tokenIds(vocab: number, n: number): number[] {
  let s = 12345;
  return Array.from({ length: n }, () => (s = (s * 1103515245 + 12345) % 2 ** 31) % vocab);
}

const cpu = createCpuBackend();
afterAll(() => cpu.destroy());

async function ourLogits(model: LlamaModel, tokens: number[]): Promise<Float32Array> {
  const out = await model.forward(tokens);
  const logits = Float32Array.from(await cpu.read(out));
  cpu.dispose(out);
  return logits;
}

async function ortLogits(bytes: ModelBytes, tokens: number[], perturb?: Perturbation): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(modelGraph(bytes, tokens.length, perturb), {
    executionProviders: ['wasm'],
  });
  try {
    const ids = BigInt64Array.from(tokens, (t) => BigInt(t));
    const { logits } = await session.run({ tokens: new ort.Tensor('int64', ids, [tokens.length]) });
    return logits!.data as Float32Array;
  } finally {
    await session.release();
  }
}

interface Case {
  name: string;
  /** The model's files, and Sparsebook's model loaded from the same bytes on the CPU backend. */
  load(): Promise<{ bytes: ModelBytes; model: LlamaModel }>;
}

const stories: Case = {
  name: 'stories260K (llama2.c)',
  async load() {
    const [checkpoint, tok] = await Promise.all([
      fetchShared('models/stories260K/stories260K.bin'),
      fetchShared('models/stories260K/tok512.bin'),
    ]);
    const { model } = await loadLlama2c(cpu, checkpoint, 'stories260K.bin', tok, 'tok512.bin');
    return {
      bytes: { format: 'llama2c', name: 'stories260K.bin', checkpoint: new Uint8Array(checkpoint) },
      model,
    };
  },
};

function hfFolder(name: string, dir: string): Case {
  return {
    name,
    async load() {
      const [config, safetensors] = await Promise.all([
        fetchRepoFile(`${dir}/config.json`),
        fetchRepoFile(`${dir}/model.safetensors`),
      ]);
      const raw = JSON.parse(new TextDecoder().decode(config)) as Record<string, unknown>;
      const ckpt = hfCheckpoint(parseHfConfig(raw, `${dir}/config.json`), [
        parseSafetensors(safetensors, `${dir}/model.safetensors`),
      ]);
      return { bytes: { format: 'hf', name: dir, config, safetensors }, model: LlamaModel.load(cpu, ckpt) };
    },
  };
}

const CASES = [
  stories,
  hfFolder('sparsebook-dense (bundled)', 'public/models/sparsebook-dense'),
  hfFolder('llama3 fixture (llama3 rope scaling)', 'test/fixtures/arch/llama3'),
  hfFolder('gpt2 fixture', 'test/fixtures/arch/gpt2'),
];

describe('onnxruntime-web oracle in Chromium (wasm EP, 1 thread)', () => {
  it.each(CASES)('$name: Sparsebook CPU logits within 1e-4 of ORT', async ({ name, load }) => {
    const { bytes, model } = await load();
    try {
      const tokens = tokenIds(model.config.vocabSize, TOKENS);
      const ours = await ourLogits(model, tokens);
      const theirs = await ortLogits(bytes, tokens);
      // Logits of a real model spread over several units: the bound is far below any real error.
      expect(
        theirs.reduce((a, b) => Math.max(a, b)) - theirs.reduce((a, b) => Math.min(a, b)),
      ).toBeGreaterThan(1);
      const { diff } = maxAbsDiff(ours, theirs);
      console.log(`${name} [chromium, ort wasm]: max |Δlogit| = ${diff.toExponential(2)}`);
      expect(diff).toBeLessThan(TOLERANCE);
    } finally {
      model.dispose();
    }
  });

  it('a deliberately wrong graph (RoPE pairing) disagrees, so agreement means something', async () => {
    const { bytes, model } = await stories.load();
    try {
      const tokens = tokenIds(model.config.vocabSize, TOKENS);
      const wrong = await ortLogits(bytes, tokens, { ropeStyle: 'half' });
      expect(maxAbsDiff(await ourLogits(model, tokens), wrong).diff).toBeGreaterThan(1e-2);
    } finally {
      model.dispose();
    }
  });
});
