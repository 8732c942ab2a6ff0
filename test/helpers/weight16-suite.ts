/**
 * The 16-bit weight checks, run by test/runtime (CPU) and test/browser (WebGPU) with their own
 * backend, file reader and tolerance:
 * - fidelity: a fixture's F16 and BF16 copies, loaded 16-bit, give the logits of the same file
 *   converted to float32 (identical values, so only summation order could differ);
 * - splitting: the embedding / unembedding forced into ≥ 3 row blocks gives the logits of the
 *   unsplit model exactly.
 */
import { expect, it } from 'vitest';
import type { Backend } from '../../kernels/backend';
import { storageBytes } from '../../kernels/weight-dtype';
import { LlamaModel } from '../../runtime/model/llama';
import type { RowChunks } from '../../runtime/model/row-chunks';
import { maxAbsDiff } from '../kernels/harness';
import { fixtureLogits, type ReadFixtureFile } from './arch-fixtures';
import { WEIGHT16_FIXTURES, weight16Fixture } from './weight16-fixtures';

/** The row blocks a model holds its embedding in (a private field, inspected by tests only). */
export function embeddingBlocks(model: LlamaModel): RowChunks {
  return (model as unknown as { tokEmbeddings: RowChunks }).tokEmbeddings;
}

export function weight16Suite(
  backend: () => Backend,
  read: ReadFixtureFile,
  tolerance: number,
  checked: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn(),
): void {
  for (const name of WEIGHT16_FIXTURES) {
    for (const dtype of ['F16', 'BF16'] as const) {
      it(`${name} ${dtype}: kept 16-bit, the logits of its float32 conversion within ${tolerance}`, async () => {
        const f = await weight16Fixture(name, dtype, read);
        const b = backend();
        const kept = LlamaModel.load(b, f.kept);
        const wide = LlamaModel.load(b, f.float32);
        try {
          const half = dtype === 'F16' ? 'f16' : 'bf16';
          expect(kept.weightPrecision.held).toEqual([half]);
          expect(kept.weight(0, 'wq').dtype).toBe(half);
          expect(embeddingBlocks(kept).parts[0]!.tensor.dtype).toBe(half);
          expect(wide.weightPrecision.held).toEqual(['f32']);
          const [a, c] = await checked(async () => [
            await fixtureLogits(kept, f.tokens),
            await fixtureLogits(wide, f.tokens),
          ]);
          const { diff } = maxAbsDiff(a, c);
          console.log(
            `${name} ${dtype} [${b.kind}]: max |Δlogit| 16-bit vs float32 ${diff.toExponential(2)}`,
          );
          expect(diff).toBeLessThanOrEqual(tolerance);
          // A wrong decode would move them: the logits are not all alike.
          expect(Math.max(...a) - Math.min(...a)).toBeGreaterThan(0.1);
        } finally {
          kept.dispose();
          wide.dispose();
        }
      });
    }
  }

  it.each(['llama3', 'gemma3', 'gpt2'] as const)(
    '%s: the embedding split into ≥ 3 row blocks (a forced small limit) gives the unsplit logits exactly',
    async (name) => {
      const f = await weight16Fixture(name, 'BF16', read);
      const b = backend();
      const { vocabSize, dim } = f.kept.config;
      // A third of the embedding, less a row: at least 3 blocks, the last one shorter.
      const limit = Math.floor(storageBytes('bf16', vocabSize * dim) / 3) - 2 * dim;
      const whole = LlamaModel.load(b, f.kept);
      const split = LlamaModel.load(b, f.kept, { maxTensorBytes: limit });
      try {
        const blocks = embeddingBlocks(split);
        expect(embeddingBlocks(whole).parts).toHaveLength(1);
        expect(blocks.parts.length).toBeGreaterThanOrEqual(3);
        for (const p of blocks.parts) expect(storageBytes('bf16', p.tensor.size)).toBeLessThanOrEqual(limit);
        expect(blocks.parts.reduce((n, p) => n + p.tensor.shape[0]!, 0)).toBe(vocabSize);
        const [a, c] = await checked(async () => [
          await fixtureLogits(whole, f.tokens),
          await fixtureLogits(split, f.tokens),
        ]);
        expect(c).toEqual(a);
      } finally {
        whole.dispose();
        split.dispose();
      }
    },
  );

  it('refuses a limit below one row of the embedding, naming the numbers', async () => {
    const f = await weight16Fixture('llama3', 'BF16', read);
    const dim = f.kept.config.dim;
    expect(() => LlamaModel.load(backend(), f.kept, { maxTensorBytes: dim })).toThrow(
      new RegExp(
        `a row of ${dim} bf16 values needs ${storageBytes('bf16', dim)} bytes, more than the ${dim}-byte limit`,
      ),
    );
  });
}
