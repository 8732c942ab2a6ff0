/**
 * 16-bit copies of the architecture fixtures (test/fixtures/arch), written at test time with the
 * project's safetensors writer: every tensor rounded to F16 or BF16, then the one file read two
 * ways, 16-bit kept (what a model loads) and converted to float32 (the same values widened), so
 * the two models must compute the same logits. Works in Node and in the browser.
 */
import { toFloat32 } from '../../kernels/weight-dtype';
import { hfCheckpoint, type HfCheckpoint } from '../../runtime/formats/hf-checkpoint';
import { parseHfConfig } from '../../runtime/formats/hf-config';
import { parseSafetensors } from '../../runtime/formats/safetensors';
import { writeSafetensors } from '../../runtime/formats/safetensors-write';
import type { LlamaWeights } from '../../runtime/model/llama-config';
import type { ArchFixtureName, ReadFixtureFile } from './arch-fixtures';

/** Dense GPT-2 (Conv1D, learned positions), Llama 3, Gemma 3 (sandwich norms, 1 + w) and an MoE. */
export const WEIGHT16_FIXTURES = [
  'gpt2',
  'llama3',
  'gemma3',
  'mixtral',
] as const satisfies readonly ArchFixtureName[];

export interface Weight16Fixture {
  /** The 16-bit file's weights as loaded: matrices 16-bit. */
  kept: HfCheckpoint;
  /** The same file converted to float32 at read time. */
  float32: HfCheckpoint<LlamaWeights>;
  tokens: Int32Array;
}

export async function weight16Fixture(
  name: ArchFixtureName,
  dtype: 'F16' | 'BF16',
  read: ReadFixtureFile,
): Promise<Weight16Fixture> {
  const dir = `test/fixtures/arch/${name}`;
  const [configBytes, weights, refJson] = await Promise.all([
    read(`${dir}/config.json`),
    read(`${dir}/model.safetensors`),
    read(`${dir}/reference.json`),
  ]);
  const source = parseSafetensors(weights, `${dir}/model.safetensors`);
  const tensors = [...source.tensors.values()].map((t) => ({
    name: t.name,
    dtype,
    shape: t.shape,
    data: toFloat32(source.weight(t.name)),
  }));
  const file = `${name}-${dtype.toLowerCase()}.safetensors`;
  const bytes = writeSafetensors(tensors);
  const parsed = parseHfConfig(
    JSON.parse(new TextDecoder().decode(configBytes)) as object,
    `${dir}/config.json`,
  );
  const { tokens } = JSON.parse(new TextDecoder().decode(refJson)) as { tokens: number[] };
  return {
    kept: hfCheckpoint(parsed, [parseSafetensors(bytes, file)]),
    float32: hfCheckpoint(parsed, [parseSafetensors(bytes, file)], undefined, { float32: true }),
    tokens: Int32Array.from(tokens),
  };
}
