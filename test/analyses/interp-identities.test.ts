/**
 * The interpretability tools' identities on every architecture fixture (CPU backend): the logit
 * lens at the last boundary is the model's output while earlier layers differ; patching a hook at
 * every position restores 1 and patching no position 0; per-position patching sums sensibly; the
 * direct logit attribution parts sum to the logit difference within 1e-4.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { activationPatching, directLogitAttribution, logitLens } from '../../analyses/interp';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { ARCH_FIXTURES, loadFixtureModel, readArchFixture } from '../helpers/arch-fixtures';

const root = path.resolve(import.meta.dirname, '../..');
const read = async (rel: string) => new Uint8Array(await readFile(path.join(root, rel)));
const backend = createCpuBackend();

describe.each(ARCH_FIXTURES)('%s: interpretability identities', (name) => {
  it('logit lens: the last boundary equals the output (KL < 1e-6, top-1 agreement 1); earlier ones differ', async () => {
    const f = await readArchFixture(name, read);
    const model = loadFixtureModel(f, backend);
    const r = await logitLens(model, f.tokens.slice(0, 24), { maxPositions: 4 });
    const L = model.config.nLayers;
    expect(r.layers).toHaveLength(L + 1);
    const last = r.layers[L]!;
    expect(last.kl_to_final).toBeLessThan(1e-6);
    expect(last.top1_agreement).toBe(1);
    expect(r.layers[0]!.kl_to_final).toBeGreaterThan(1e-3);
    expect(r.cells.filter((c) => c.position === 0)).toHaveLength(L + 1);
    model.dispose();
  });

  it('activation patching: all positions restore 1, no position 0; DLA parts sum to the logit difference', async () => {
    const f = await readArchFixture(name, read);
    const model = loadFixtureModel(f, backend);
    const T = 10;
    const clean = f.tokens.slice(0, T);
    const corrupted = clean.slice();
    corrupted[2] = (corrupted[2]! + 7) % model.config.vocabSize;
    corrupted[3] = (corrupted[3]! + 11) % model.config.vocabSize;
    const answer = f.tokens[T]!;
    const wrong = (answer + 1) % model.config.vocabSize;
    const metric = { kind: 'logit-diff' as const, answer, wrong };
    const all = await activationPatching(model, {
      clean,
      corrupted,
      metric,
      point: 'hook_resid_pre',
      positions: 'all',
    });
    for (const r of all.all!) expect(r).toBeCloseTo(1, 5);
    // Patching the stream after the last block at every position is the clean run too.
    const post = await activationPatching(model, {
      clean,
      corrupted,
      metric,
      point: 'hook_resid_post',
      positions: 'all',
    });
    expect(post.all!.at(-1)).toBeCloseTo(1, 5);
    const each = await activationPatching(model, {
      clean,
      corrupted,
      metric,
      point: 'hook_resid_pre',
      positions: 'each',
    });
    const layer0 = each.byPosition![0]!;
    // Positions before the first corrupted token carry identical activations: patching them restores nothing.
    expect(layer0[0]).toBeCloseTo(0, 6);
    expect(layer0[1]).toBeCloseTo(0, 6);
    expect(layer0.some((v) => Math.abs(v) > 1e-3)).toBe(true);

    const dla = await directLogitAttribution(model, clean, { answer, wrong });
    expect(Math.abs(dla.total - dla.logitDiffBeforeSoftcap)).toBeLessThan(1e-4);
    expect(dla.parts.length).toBeGreaterThan(model.config.nLayers);
    if (dla.perHead)
      expect(dla.parts.filter((p) => p.kind === 'head')).toHaveLength(
        model.config.nLayers * model.config.nHeads,
      );
    model.dispose();
  });
});
