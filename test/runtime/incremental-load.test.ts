/**
 * `LlamaModel.incremental` (weights uploaded one stored tensor at a time, in any order) gives the
 * model `LlamaModel.load` gives, on every architecture fixture; `weightShapes` lists every weight
 * the model holds; an abandoned load frees what it uploaded, and a missing tensor is an error.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { hfCheckpoint, planHfCheckpoint } from '../../runtime/formats/hf-checkpoint';
import { parseHfConfig } from '../../runtime/formats/hf-config';
import { parseSafetensors } from '../../runtime/formats/safetensors';
import { LlamaModel } from '../../runtime/model/llama';
import { countParameters } from '../../runtime/model/llama-config';
import { ARCH_FIXTURES } from '../helpers/arch-fixtures';
import { trackingBackend } from './tracking-backend';
import { copyWeight } from '../../kernels/weight-dtype';

const root = path.resolve(import.meta.dirname, '../..');

function fixture(name: string) {
  const dir = path.join(root, 'test/fixtures/arch', name);
  const parsed = parseHfConfig(readFileSync(path.join(dir, 'config.json')), 'config.json');
  const file = () => parseSafetensors(readFileSync(path.join(dir, 'model.safetensors')), 'model.safetensors');
  return { parsed, file };
}

describe('LlamaModel.incremental', () => {
  it.each(ARCH_FIXTURES)(
    '%s: tensors in reverse order give the same logits as LlamaModel.load',
    async (name) => {
      const backend = createCpuBackend();
      const { parsed, file } = fixture(name);
      const plan = planHfCheckpoint(parsed, [file()]);
      const load = LlamaModel.incremental(backend, plan.config, {
        fileName: plan.fileName,
        storedDtypes: plan.storedDtypes,
      });
      for (const t of [...plan.tensors].reverse()) {
        const data = copyWeight(t.file.weight(t.stored)); // a copy: the file's bytes stay intact
        load.add((w) => t.entry.place(data, w));
      }
      const streamed = load.finish();
      const reference = LlamaModel.load(backend, hfCheckpoint(parsed, [file()]));
      const tokens = Array.from({ length: 12 }, (_, i) => (i * 37 + 3) % plan.config.vocabSize);
      const [a, b] = [await streamed.forward(tokens), await reference.forward(tokens)];
      expect(await backend.read(a)).toEqual(await backend.read(b));
      expect(streamed.weightPrecision).toEqual(reference.weightPrecision);
      const held = LlamaModel.weightShapes(plan.config).reduce((n, s) => n + s.reduce((x, y) => x * y, 1), 0);
      // Every stored tensor the table maps is held once (fused ones split, none dropped).
      expect(held).toBe(plan.tensors.reduce((n, t) => n + t.info.size, 0));
      if (name !== 'olmo2') expect(held).toBe(countParameters(plan.config)); // counts unused pre-norms
    },
  );

  it('a missing tensor is an error, and dispose frees what was uploaded', () => {
    const backend = trackingBackend(createCpuBackend());
    const { parsed, file } = fixture('qwen3');
    const plan = planHfCheckpoint(parsed, [file()]);
    const load = LlamaModel.incremental(backend, plan.config, { fileName: 'model.safetensors' });
    for (const t of plan.tensors.slice(1)) {
      const data = t.file.float32(t.stored);
      load.add((w) => t.entry.place(data, w));
    }
    expect(() => load.finish()).toThrow(/model\.safetensors: 1 weight never arrived \(\[\d+, \d+\]\)/);
    expect(backend.live.size).toBe(plan.tensors.length - 1);
    load.dispose();
    expect(backend.live.size).toBe(0);
    expect(() => load.add(() => {})).toThrow(/disposed/);
  });

  it('a tensor placed twice is an error', () => {
    const backend = createCpuBackend();
    const { parsed, file } = fixture('gpt2');
    const plan = planHfCheckpoint(parsed, [file()]);
    const load = LlamaModel.incremental(backend, plan.config, { fileName: 'model.safetensors' });
    const t = plan.tensors[0]!;
    load.add((w) => t.entry.place(new Float32Array(t.file.float32(t.stored)), w));
    expect(() => load.add((w) => t.entry.place(new Float32Array(t.file.float32(t.stored)), w))).toThrow(
      /arrived twice/,
    );
  });
});
