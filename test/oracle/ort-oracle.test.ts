/**
 * onnxruntime-web (wasm EP, Node) as an independent oracle: every bundled model and architecture
 * fixture with an ONNX export (tools/onnx) gives the same logits in Sparsebook's CPU backend within
 * 1e-4, and graphs with a deliberately wrong detail (RoPE pairing, norm eps) do not — so agreement
 * means something.
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../cli/session';
import { exportGraph, type Perturbation } from '../../tools/onnx/export';
import { ortSession } from '../../tools/onnx/ort';
import { SHARED_DIR } from '../helpers/shared-paths';

const root = path.resolve(import.meta.dirname, '../..');
const stories = path.join(SHARED_DIR, 'models/stories260K');
const MODELS: { name: string; model: string; tokenizer?: string }[] = [
  {
    name: 'stories260K (llama2.c)',
    model: path.join(stories, 'stories260K.bin'),
    tokenizer: path.join(stories, 'tok512.bin'),
  },
  { name: 'sparsebook-dense (bundled)', model: path.join(root, 'public/models/sparsebook-dense') },
  { name: 'llama3 fixture (llama3 rope scaling)', model: path.join(root, 'test/fixtures/arch/llama3') },
  { name: 'gpt2 fixture', model: path.join(root, 'test/fixtures/arch/gpt2') },
];
const TOKENS = 48;
const TOLERANCE = 1e-4;

/** Token ids spread over the whole vocabulary (a fixed LCG: the same every run). */
function tokenIds(vocab: number, n: number): number[] {
  let s = 12345;
  return Array.from({ length: n }, () => (s = (s * 1103515245 + 12345) % 2 ** 31) % vocab);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = d; // NaN makes the max NaN, which then fails the comparison
  }
  return m;
}

const loaded = new Map<string, Awaited<ReturnType<typeof loadModel>>>();
async function sparsebookLogits(
  m: (typeof MODELS)[number],
): Promise<{ tokens: number[]; logits: Float32Array }> {
  let s = loaded.get(m.model);
  if (!s) loaded.set(m.model, (s = await loadModel('cpu', m.model, m.tokenizer)));
  const tokens = tokenIds(s.model.config.vocabSize, TOKENS);
  const out = await s.model.forward(tokens);
  const logits = (await s.backend.read(out)) as Float32Array;
  s.backend.dispose(out);
  return { tokens, logits };
}

async function ortLogits(model: string, tokens: number[], perturb?: Perturbation): Promise<Float32Array> {
  const session = await ortSession(exportGraph(model, tokens.length, perturb), { ep: 'wasm', threads: 1 });
  try {
    return await session.run(tokens);
  } finally {
    await session.release();
  }
}

afterAll(() => {
  for (const s of loaded.values()) {
    s.model.dispose();
    s.backend.destroy();
  }
});

describe('onnxruntime-web oracle (wasm EP)', () => {
  for (const m of MODELS) {
    it(`agrees with Sparsebook's CPU logits on ${m.name} within ${TOLERANCE}`, async () => {
      const { tokens, logits } = await sparsebookLogits(m);
      const theirs = await ortLogits(m.model, tokens);
      // Logits of a real model spread over several units: the bound is far below any real error.
      expect(
        theirs.reduce((a, b) => Math.max(a, b)) - theirs.reduce((a, b) => Math.min(a, b)),
      ).toBeGreaterThan(1);
      const diff = maxAbsDiff(logits, theirs);
      console.log(`${m.name}: max |Δlogit| = ${diff.toExponential(2)}`);
      expect(diff).toBeLessThan(TOLERANCE);
    }, 120_000);
  }

  it('catches a wrong RoPE pairing and a wrong norm eps', async () => {
    for (const m of [MODELS[0]!, MODELS[1]!]) {
      const { tokens, logits } = await sparsebookLogits(m);
      const style = m.model.endsWith('.bin') ? 'half' : 'interleaved';
      expect(maxAbsDiff(logits, await ortLogits(m.model, tokens, { ropeStyle: style }))).toBeGreaterThan(
        1e-2,
      );
      expect(maxAbsDiff(logits, await ortLogits(m.model, tokens, { eps: 1e-2 }))).toBeGreaterThan(1e-3);
    }
    const gpt2 = MODELS[3]!;
    const { tokens, logits } = await sparsebookLogits(gpt2);
    expect(maxAbsDiff(logits, await ortLogits(gpt2.model, tokens, { eps: 1e-1 }))).toBeGreaterThan(1e-3);
  }, 240_000);
});
