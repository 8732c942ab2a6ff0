/**
 * Issue 6 "Must show" on real models: stories260K with TinyStories (../shared) and the bundled dense
 * model with its literature validation text. Small calibration and scoring sets keep the run short;
 * the orderings are checked, the numbers printed (bench/pruning-sweep.ts measures the full curves).
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  collectBlockStats,
  evaluatePruned,
  evaluateTokens,
  exportPruned,
  LINEAR_INPUT_HOOK,
  parsePattern,
  preparePruningText,
  pruneBlock,
  pruneModel,
  readBlockWeights,
  reconstructionError,
  UNSTRUCTURED_TARGETS,
  type PruningMethod,
  type PruningText,
} from '../../../analyses/pruning';
import { loadModel } from '../../../cli/session';
import { createCpuBackend } from '../../../kernels/cpu-backend';
import { hfCheckpoint, LlamaModel, loadLlama2c, parseHfConfig, parseSafetensors } from '../../../runtime';
import { readShared, sharedPath, TINYSTORIES_VALID, TOK512 } from '../../helpers/shared-paths';
import { loadStories260K } from '../../helpers/stories260k';

const METHODS: PruningMethod[] = ['magnitude', 'wanda', 'sparsegpt'];

interface Case {
  name: string;
  /** N:M patterns checked (stories260K's FFN width 172 is not a multiple of 8). */
  nm: string[];
  load: () => Promise<{ model: LlamaModel; tokenizer: Parameters<typeof preparePruningText>[1] }>;
  text: () => string;
}

const CASES: Case[] = [
  {
    name: 'stories260K + tinystories-valid-1000',
    nm: ['2:4'],
    load: async () => loadStories260K(),
    text: () => readFileSync(sharedPath(TINYSTORIES_VALID), 'utf8'),
  },
  {
    name: 'sparsebook-dense + valid-literature',
    nm: ['2:4', '4:8'],
    load: async () => loadModel('cpu', 'public/models/sparsebook-dense'),
    text: () => readFileSync('public/models/corpus/valid-literature.txt', 'utf8'),
  },
];

for (const c of CASES) {
  describe(`must show: ${c.name}`, () => {
    // Shared fixtures, built once; every `it` computes and asserts its own results.
    let model: LlamaModel;
    let prepared: PruningText;
    let dense: Awaited<ReturnType<typeof evaluateTokens>>;
    beforeAll(async () => {
      const loaded = await c.load();
      model = loaded.model;
      prepared = preparePruningText(model, loaded.tokenizer, c.text(), {
        calibrationWindows: 2,
        maxWindows: 2,
      });
      dense = await evaluateTokens(model, prepared.tokens);
    }, 120_000);

    it('splits calibration from the scored text; the dense model agrees with itself', () => {
      expect(prepared.calibrationInfo.source).toMatch(
        /^first \d+ documents? of text \(left out of the scored text\)$/,
      );
      expect(dense.agreement).toBe(1);
    });

    it('sparsity 0 reproduces the dense loss exactly, for every method', async () => {
      for (const method of METHODS) {
        const pruned = await pruneModel(model, {
          method,
          pattern: parsePattern('unstructured'),
          sparsity: 0,
          calibration: prepared.calibration,
        });
        expect(pruned.nonzeros).toBe(pruned.total);
        const r = await evaluatePruned(model, prepared.tokens, pruned, dense.argmax);
        expect(r.loss, method).toBe(dense.loss);
        expect(r.agreement).toBe(1);
      }
    });

    it('50 % unstructured and 2:4 for each method: exact N:M groups, Wanda and SparseGPT beat magnitude, 2:4 costs more', async () => {
      const losses = new Map<string, number>();
      for (const pattern of ['unstructured', ...c.nm]) {
        for (const method of METHODS) {
          const pruned = await pruneModel(model, {
            method,
            pattern: parsePattern(pattern),
            sparsity: 0.5,
            calibration: prepared.calibration,
          });
          const r = await evaluatePruned(model, prepared.tokens, pruned, dense.argmax);
          losses.set(`${method} ${pattern}`, r.loss);
          expect(pruned.nonzeros).toBe(pruned.total / 2);
          if (pattern === 'unstructured') continue;
          // Every N:M mask keeps exactly N in every group of M, in every matrix of every layer.
          const [n, m] = pattern.split(':').map(Number) as [number, number];
          expect(pruned.weights).toHaveLength(model.config.nLayers * UNSTRUCTURED_TARGETS.length);
          for (const w of pruned.weights) {
            for (let g = 0; g < w.mask.length; g += m) {
              let kept = 0;
              for (let i = g; i < g + m; i++) kept += w.mask[i]!;
              if (kept !== n)
                throw new Error(
                  `${method} ${pattern} layer ${w.layer} ${w.name}: group at ${g} keeps ${kept}`,
                );
            }
            // SparseGPT's re-fitted values are zero exactly where the mask prunes.
            if (w.values) for (let i = 0; i < w.mask.length; i++) if (!w.mask[i]) expect(w.values[i]).toBe(0);
          }
        }
      }
      const table = [...losses].map(
        ([k, v]) => `${k.padEnd(24)} ${v.toFixed(4)} (+${(v - dense.loss).toFixed(4)})`,
      );
      console.log(`${c.name}: dense ${dense.loss.toFixed(4)}\n${table.join('\n')}`);
      const L = (k: string) => losses.get(k)!;
      expect(L('wanda unstructured')).toBeLessThan(L('magnitude unstructured'));
      expect(L('sparsegpt unstructured')).toBeLessThan(L('magnitude unstructured'));
      for (const method of METHODS) expect(L(`${method} 2:4`)).toBeGreaterThan(L(`${method} unstructured`));
    });

    it("SparseGPT's reconstruction error on the calibration set is below magnitude's and Wanda's in every layer", async () => {
      for (let l = 0; l < model.config.nLayers; l++) {
        // The dense model's block inputs: every method is judged on the same H.
        const stats = await collectBlockStats(model, prepared.calibration, l, undefined);
        const block = await readBlockWeights(model, l);
        const { weights } = block;
        for (const pattern of ['unstructured', '2:4']) {
          const errors = Object.fromEntries(
            METHODS.map((method) => {
              const pruned = pruneBlock(block, stats, {
                method,
                pattern: parsePattern(pattern),
                sparsity: 0.5,
              });
              let e = 0;
              for (const p of pruned) {
                const w = weights[p.name]!;
                const wHat = p.values ?? w.map((x, i) => (p.mask[i] ? x : 0));
                const h = stats.get(LINEAR_INPUT_HOOK[p.name])!.hessian;
                e += reconstructionError(w, wHat, p.rows, p.cols, h);
              }
              return [method, e];
            }),
          );
          expect(errors.sparsegpt, `layer ${l} ${pattern}: ${JSON.stringify(errors)}`).toBeLessThan(
            errors.magnitude!,
          );
          expect(errors.sparsegpt, `layer ${l} ${pattern}: ${JSON.stringify(errors)}`).toBeLessThan(
            errors.wanda!,
          );
        }
      }
    });

    it('the exported llama2.c and HF files give the pruned loss back', async () => {
      const pruned = await pruneModel(model, {
        method: 'sparsegpt',
        pattern: parsePattern('2:4'),
        sparsity: 0,
        calibration: prepared.calibration,
      });
      const r = await evaluatePruned(model, prepared.tokens, pruned, dense.argmax);
      const files = exportPruned(model.config, await model.readWeights(), pruned);
      const fromHf = LlamaModel.load(
        createCpuBackend(),
        hfCheckpoint(parseHfConfig(files['config.json'], 'config.json'), [
          parseSafetensors(files['model.safetensors'], 'model.safetensors'),
        ]),
      );
      expect((await evaluateTokens(fromHf, prepared.tokens)).loss).toBeCloseTo(r.loss, 5);
      const masks = parseSafetensors(files['masks.safetensors'], 'masks.safetensors');
      expect(masks.tensors.size).toBe(pruned.weights.length);
      if (!model.config.sharedClassifier || model.config.nKvHeads === model.config.nHeads) {
        const { model: fromBin } = loadLlama2c(
          createCpuBackend(),
          files['model.bin']!,
          'pruned.bin',
          readShared(TOK512),
          'tok512.bin',
        );
        if (fromBin.config.vocabSize === model.config.vocabSize) {
          expect((await evaluateTokens(fromBin, prepared.tokens)).loss).toBeCloseTo(r.loss, 5);
        }
      }
    });
  });
}
