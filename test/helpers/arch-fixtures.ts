/**
 * The architecture fixtures under test/fixtures/arch (written by tools/fixtures/gen_*.py): a tiny
 * checkpoint with the real model's tensor names, dtypes and config fields, plus reference logits
 * from an independent implementation. Works in Node and in the browser: the caller supplies how a
 * file is read.
 */
import type { Backend } from '../../kernels/backend';
import { hfCheckpoint, type HfCheckpoint } from '../../runtime/formats/hf-checkpoint';
import { parseHfConfig } from '../../runtime/formats/hf-config';
import { parseSafetensors } from '../../runtime/formats/safetensors';
import { LlamaModel } from '../../runtime/model/llama';
import type { LlamaConfig } from '../../runtime/model/llama-config';

/** Every fixture, dense first. */
export const ARCH_FIXTURES = [
  'gpt2',
  'pythia',
  'llama3',
  'smollm2',
  'mistral',
  'qwen2',
  'qwen3',
  'gemma2',
  'gemma3',
  'olmo2',
  'mixtral',
  'olmoe',
  'qwen2_moe',
  'qwen3_moe',
  'granitemoe',
] as const;

export type ArchFixtureName = (typeof ARCH_FIXTURES)[number];

export interface ArchFixture {
  name: ArchFixtureName;
  rawConfig: Record<string, unknown>;
  checkpoint: HfCheckpoint;
  tokens: Int32Array;
  /** Reference logits [T, V] (float32 of the reference's float64). */
  logits: Float32Array;
  /** The reference's mean next-token loss and where it came from. */
  reference: { loss: number; source: string };
}

/** Read a file of the fixture folder (Node: fs; browser: fetch from the test server). */
export type ReadFixtureFile = (relative: string) => Promise<Uint8Array>;

export async function readArchFixture(name: ArchFixtureName, read: ReadFixtureFile): Promise<ArchFixture> {
  const dir = `test/fixtures/arch/${name}`;
  const [configBytes, weights, refJson, logitBytes] = await Promise.all([
    read(`${dir}/config.json`),
    read(`${dir}/model.safetensors`),
    read(`${dir}/reference.json`),
    read(`${dir}/reference-logits.f32`),
  ]);
  const rawConfig = JSON.parse(new TextDecoder().decode(configBytes)) as Record<string, unknown>;
  const ref = JSON.parse(new TextDecoder().decode(refJson)) as {
    tokens: number[];
    shape: [number, number];
    loss: number;
    source: string;
  };
  const checkpoint = hfCheckpoint(parseHfConfig(rawConfig, `${dir}/config.json`), [
    parseSafetensors(weights, `${dir}/model.safetensors`),
  ]);
  const logits = new Float32Array(
    logitBytes.buffer.slice(logitBytes.byteOffset, logitBytes.byteOffset + logitBytes.byteLength),
  );
  if (logits.length !== ref.shape[0] * ref.shape[1])
    throw new Error(`${dir}: reference logits do not match their shape`);
  return {
    name,
    rawConfig,
    checkpoint,
    tokens: Int32Array.from(ref.tokens),
    logits,
    reference: { loss: ref.loss, source: ref.source },
  };
}

/** The fixture's model on `backend`, optionally with a changed config (a flipped detail). */
export function loadFixtureModel(
  f: ArchFixture,
  backend: Backend,
  config: LlamaConfig = f.checkpoint.config,
): LlamaModel {
  return LlamaModel.load(backend, { ...f.checkpoint, config });
}

/** Logits [T, V] of the fixture's tokens. */
export async function fixtureLogits(model: LlamaModel, tokens: Int32Array): Promise<Float32Array> {
  const t = await model.forward(tokens);
  const out = await model.backend.read(t);
  model.backend.dispose(t);
  return out;
}

/** Mean next-token cross-entropy of logits [T, V] over tokens[1..T-1] (float64). */
export function meanNextTokenLoss(logits: Float32Array, tokens: Int32Array, vocab: number): number {
  let sum = 0;
  for (let t = 0; t + 1 < tokens.length; t++) {
    const row = logits.subarray(t * vocab, (t + 1) * vocab);
    let m = -Infinity;
    for (const v of row) m = Math.max(m, v);
    let z = 0;
    for (const v of row) z += Math.exp(v - m);
    sum += m + Math.log(z) - row[tokens[t + 1]!]!;
  }
  return sum / (tokens.length - 1);
}
