/**
 * Every architecture against an independent implementation (tools/fixtures: nanoGPT, rasbt's
 * Llama 3 / Qwen 3, google/gemma_pytorch, OLMo 3's notebook, and transcriptions of HF's modeling
 * files where none exists): the CPU backend's logits on the fixture's tokens within 1e-4 of the
 * reference's, every hook point with its documented shape, and each architectural detail shown
 * to matter (flipping it moves the loss well beyond the tolerance).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createCpuBackend, createFastCpuBackend } from '../../kernels/cpu-backend';
import type { Backend } from '../../kernels/backend';
import { listHookPoints, type Hooks } from '../../runtime/hooks';
import { qDimOf, type LlamaConfig } from '../../runtime/model/llama-config';
import type { BlockSpec } from '../../runtime/model/block-spec';
import {
  ARCH_FIXTURES,
  fixtureLogits,
  loadFixtureModel,
  meanNextTokenLoss,
  readArchFixture,
  type ArchFixture,
  type ArchFixtureName,
} from '../helpers/arch-fixtures';
import { maxAbsDiff } from '../kernels/harness';

const root = path.resolve(import.meta.dirname, '../..');
const read = async (rel: string) => new Uint8Array(await readFile(path.join(root, rel)));
const backend = createCpuBackend();
// The CLI's CPU backend: wasm SIMD kernels on a thread pool (16-bit panels, soft-capped attention).
let fast: Promise<Backend> | undefined;
const fastBackend = () => (fast ??= createFastCpuBackend({ threads: 2 }));
afterAll(async () => (await fast)?.destroy());

/** Max |Δlogit| allowed on the CPU backend (the bound). */
const CPU_TOLERANCE = 1e-4;

const fixtures = new Map<ArchFixtureName, Promise<ArchFixture>>();
const fixture = (name: ArchFixtureName) => {
  if (!fixtures.has(name)) fixtures.set(name, readArchFixture(name, read));
  return fixtures.get(name)!;
};

describe.each(ARCH_FIXTURES)('%s against its independent reference', (name) => {
  it('CPU logits within 1e-4 of the reference', async () => {
    const f = await fixture(name);
    const model = loadFixtureModel(f, backend);
    const ours = await fixtureLogits(model, f.tokens);
    const { diff } = maxAbsDiff(ours, f.logits);
    console.log(
      `${name}: max |Δlogit| ${diff.toExponential(2)} over ${f.tokens.length} tokens (${f.reference.source.slice(0, 60)})`,
    );
    expect(diff).toBeLessThanOrEqual(CPU_TOLERANCE);
    expect(f.tokens.length).toBeGreaterThanOrEqual(64);
    const loss = meanNextTokenLoss(ours, f.tokens, f.checkpoint.config.vocabSize);
    expect(Math.abs(loss - f.reference.loss)).toBeLessThan(1e-5);
    model.dispose();
  });

  it('CPU logits with the WebAssembly kernels (what the CLI runs) within 1e-4 of the reference', async () => {
    const f = await fixture(name);
    const model = loadFixtureModel(f, await fastBackend());
    const { diff } = maxAbsDiff(await fixtureLogits(model, f.tokens), f.logits);
    expect(diff).toBeLessThanOrEqual(CPU_TOLERANCE);
    model.dispose();
  });

  it('every hook point fires once per forward with its documented shape', async () => {
    const f = await fixture(name);
    const c = f.checkpoint.config;
    const model = loadFixtureModel(f, backend);
    const T = 12;
    const seen = new Map<string, readonly number[]>();
    const hooks: Hooks = Object.fromEntries(
      listHookPoints(c)
        .filter((p) => !p.endsWith('moe.hook_selected_experts'))
        .map((p) => [p, (t: { shape: readonly number[] }) => void seen.set(p, t.shape)]),
    );
    const out = await model.forward(f.tokens.subarray(0, T), { hooks });
    backend.dispose(out);
    expect([...seen.keys()].sort()).toEqual(Object.keys(hooks).sort());
    const expected = expectedShapes(c, T);
    for (const [point, shape] of seen) {
      const key = point.replace(/^blocks\.\d+\./, '');
      expect(shape, point).toEqual(expected[key]);
    }
    model.dispose();
  });
});

/** Shapes of the hook points, from the config alone (the TransformerLens names, heads flattened). */
function expectedShapes(c: LlamaConfig, T: number): Record<string, number[]> {
  const q = qDimOf(c);
  const E = c.moe?.nExperts ?? 0;
  const k = c.moe?.topK ?? 0;
  return {
    hook_embed: [T, c.dim],
    hook_pos_embed: [T, c.dim],
    hook_resid_pre: [T, c.dim],
    'ln1.hook_normalized': [T, c.dim],
    'attn.hook_q': [T, q],
    'attn.hook_k': [T, c.kvDim],
    'attn.hook_v': [T, c.kvDim],
    'attn.hook_rot_q': [T, q],
    'attn.hook_rot_k': [T, c.kvDim],
    'attn.hook_attn_scores': [c.nHeads, T, T],
    'attn.hook_pattern': [c.nHeads, T, T],
    'attn.hook_row_stats': [c.nHeads, T, 3],
    'attn.hook_z': [T, q],
    hook_attn_out: [T, c.dim],
    hook_resid_mid: [T, c.dim],
    'ln2.hook_normalized': [T, c.dim],
    'mlp.hook_pre': [T, c.hiddenDim],
    'mlp.hook_post': [T, c.hiddenDim],
    'moe.hook_router_logits': [T, E],
    'moe.hook_router_probs': [T, E],
    'moe.hook_gate_weights': [T, k],
    'moe.hook_shared_expert_out': [T, c.dim],
    hook_mlp_out: [T, c.dim],
    hook_resid_post: [T, c.dim],
    'ln_final.hook_normalized': [T, c.dim],
    hook_logits: [T, c.vocabSize],
  };
}

/** A detail of the declaration and the fixture whose reference depends on it. */
const DETAILS: readonly { detail: string; fixture: ArchFixtureName; flip: (b: BlockSpec) => BlockSpec }[] = [
  { detail: 'GELU variant (gelu_new → exact)', fixture: 'gpt2', flip: (b) => ({ ...b, activation: 'gelu' }) },
  {
    detail: 'GELU variant (exact → tanh)',
    fixture: 'pythia',
    flip: (b) => ({ ...b, activation: 'gelu_tanh' }),
  },
  {
    detail: 'sliding window (off)',
    fixture: 'mistral',
    flip: (b) => ({ ...b, layers: b.layers.map((l) => ({ ...l, window: null })) }),
  },
  {
    detail: 'sliding window (Gemma 3 local layers off)',
    fixture: 'gemma3',
    flip: (b) => ({ ...b, layers: b.layers.map((l) => ({ ...l, window: null })) }),
  },
  {
    detail: 'RoPE base (Gemma 3 local = global)',
    fixture: 'gemma3',
    flip: (b) => ({ ...b, layers: b.layers.map((l) => ({ ...l, ropeTheta: b.layers.at(-1)!.ropeTheta })) }),
  },
  {
    detail: 'RoPE scaling (Llama 3 off)',
    fixture: 'llama3',
    flip: (b) => ({ ...b, layers: b.layers.map(({ ropeScaling: _s, ...l }) => l) }),
  },
  { detail: 'query scale (Gemma 2: 1/√head_dim)', fixture: 'gemma2', flip: ({ attnScale: _a, ...b }) => b },
  { detail: 'attention soft-capping (off)', fixture: 'gemma2', flip: ({ attnSoftcap: _a, ...b }) => b },
  { detail: 'final soft-capping (off)', fixture: 'gemma2', flip: ({ finalSoftcap: _a, ...b }) => b },
  {
    detail: 'partial rotary (full)',
    fixture: 'pythia',
    flip: (b) => ({
      ...b,
      positions: {
        kind: 'rope',
        style: 'half',
        rotaryDim: 2 * (b.positions as { rotaryDim: number }).rotaryDim,
      },
    }),
  },
  {
    detail: 'parallel residual (sequential)',
    fixture: 'pythia',
    flip: (b) => ({ ...b, residual: 'sequential' }),
  },
  { detail: 'qk-norm (per head → full width)', fixture: 'olmo2', flip: (b) => ({ ...b, qkNorm: 'head' }) },
  {
    detail: 'Granite residual multiplier (1)',
    fixture: 'granitemoe',
    flip: ({ residualScale: _r, ...b }) => b,
  },
];

describe('each architectural detail matters', () => {
  it.each(DETAILS)('$detail ($fixture)', async ({ fixture: name, flip }) => {
    const f = await fixture(name);
    const c = f.checkpoint.config;
    const flipped = flip(c.block!);
    // qk-norm per head needs head-sized weights: shrink a full-width norm to its first head.
    const weights =
      flipped.qkNorm === 'head' && c.block!.qkNorm === 'full'
        ? {
            ...f.checkpoint.weights,
            layers: f.checkpoint.weights.layers.map((l) => ({
              ...l,
              qNorm: l.qNorm!.slice(0, c.headDim),
              kNorm: l.kNorm!.slice(0, c.headDim),
            })),
          }
        : f.checkpoint.weights;
    const model = loadFixtureModel({ ...f, checkpoint: { ...f.checkpoint, weights } }, backend, {
      ...c,
      block: flipped,
    });
    const logits = await fixtureLogits(model, f.tokens);
    const loss = meanNextTokenLoss(logits, f.tokens, c.vocabSize);
    const dLoss = loss - f.reference.loss;
    const { diff } = maxAbsDiff(logits, f.logits);
    console.log(`detail ${name}: Δloss ${dLoss.toExponential(2)}, max |Δlogit| ${diff.toExponential(2)}`);
    // The loss moves ten times the logit tolerance, the logits a thousand times.
    expect(Math.abs(dLoss)).toBeGreaterThan(10 * CPU_TOLERANCE);
    expect(diff).toBeGreaterThan(1000 * CPU_TOLERANCE);
    model.dispose();
  });
});
