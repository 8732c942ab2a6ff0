/**
 * The bundled models (public/models/sparsebook-*) on the CPU runtime give the logits the training
 * framework (PyTorch) wrote to each folder's reference.safetensors, within 1e-3. The files are part
 * of the repository: a missing one fails the test.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { loadModelFiles } from '../../runtime';
import { parseSafetensors } from '../../runtime/formats/safetensors';

const BUNDLED_MODELS = ['sparsebook-dense', 'sparsebook-moe-micro', 'sparsebook-moe-global'] as const;
const root = path.resolve(import.meta.dirname, '../../public/models');
const backend = createCpuBackend();

describe('bundled models match their PyTorch reference logits (CPU)', () => {
  for (const name of BUNDLED_MODELS) {
    it(name, async () => {
      const dir = path.join(root, name);
      const read = (f: string) => ({ name: f, bytes: readFileSync(path.join(dir, f)) });
      const loaded = loadModelFiles(
        backend,
        ['config.json', 'model.safetensors', 'tokenizer.bin'].map(read),
        {
          source: name,
        },
      );
      const ref = parseSafetensors(read('reference.safetensors').bytes, `${name}/reference.safetensors`);
      const tokens = ref.int32('tokens');
      const expected = ref.float32('logits');
      expect(ref.info('logits').shape).toEqual([tokens.length, loaded.info.vocabSize]);
      const t = await loaded.model.forward(tokens);
      const ours = await backend.read(t);
      backend.dispose(t);
      let diff = 0;
      for (let i = 0; i < ours.length; i++) diff = Math.max(diff, Math.abs(ours[i]! - expected[i]!));
      console.log(`${name}: ${tokens.length} tokens, max |cpu − torch| = ${diff.toExponential(3)}`);
      expect(diff).toBeLessThanOrEqual(1e-3);
      loaded.model.dispose();
    });
  }
});
