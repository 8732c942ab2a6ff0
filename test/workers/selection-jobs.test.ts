/**
 * The jobs that answer the notebook's token selection in cells without a forward pass of their
 * own (CPU backend): the MoE routing of one token (bundled micro MoE) against the router logits
 * read from a plain forward pass, softmaxed and top-k'd here; and a kept pruning point's loss change
 * per token (stories260K) against the dense per-token loss and the sweep's own pruned evaluation.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluatePruned } from '../../analyses/pruning/sweep';
import { parseSparsities } from '../../analyses/pruning/sparsities';
import { createCpuBackend } from '../../kernels/cpu-backend';
import type { Hook } from '../../runtime/hooks';
import { buildTokenStream, loadModelFiles, perTokenLoss } from '../../runtime';
import { moeTokenRouteJob } from '../../workers/moe-lab-jobs';
import { PruningStore, pruningSweepJob, pruningTokenLossJob } from '../../workers/pruning-jobs';
import { sharedPath, TINYSTORIES_VALID } from '../helpers/shared-paths';
import { loadStories260K } from '../helpers/stories260k';

const root = path.resolve(import.meta.dirname, '../..');
const lossColumn = (t: import('apache-arrow').Table) =>
  Array.from({ length: t.numRows }, (_, i) => t.getChild('loss')!.get(i) as number | null);

describe('the selected token in an MoE model', () => {
  const dir = path.join(root, 'public/models/sparsebook-moe-micro');
  const { model, tokenizer } = loadModelFiles(
    createCpuBackend(),
    ['config.json', 'model.safetensors', 'tokenizer.bin'].map((name) => ({
      name,
      bytes: new Uint8Array(readFileSync(path.join(dir, name))),
    })),
  );
  const doc = readFileSync(path.join(root, 'public/models/corpus/valid-email.txt'), 'utf8')
    .split('\n<|endoftext|>\n')[0]!
    .trim();

  it('routes to the top-k experts of its router logits, gates renormalised', async () => {
    const position = 9;
    const r = await moeTokenRouteJob(model, tokenizer, { text: doc, position });
    const { nExperts: E, topK: k } = model.config.moe!;
    expect([r.nExperts, r.topK, r.position, r.layers.length]).toEqual([E, k, position, model.config.nLayers]);
    const tokens = buildTokenStream(tokenizer, doc, 'doc').tokens;
    expect(r.tokenId).toBe(tokens[position]);
    expect(r.documentTokens).toBe(tokens.length);
    // Router logits from a forward pass over the first tokens, the hook only reading.
    const logits: Float32Array[] = [];
    const hooks: Record<string, Hook> = {};
    for (let l = 0; l < model.config.nLayers; l++)
      hooks[`blocks.${l}.moe.hook_router_logits`] = async (t) => {
        logits[l] = Float32Array.from(await model.backend.read(t));
      };
    // Only the first tokens: routing is causal, so the rest of the document changes nothing.
    model.backend.dispose(await model.forward(tokens.subarray(0, position + 1), { hooks }));
    for (const [l, layer] of r.layers.entries()) {
      const row = Array.from(logits[l]!.subarray(position * E, position * E + E));
      const max = Math.max(...row);
      const p = row.map((x) => Math.exp(x - max));
      const order = p.map((_, e) => e).sort((a, b) => p[b]! - p[a]!);
      const top = order.slice(0, k);
      const mass = top.reduce((s, e) => s + p[e]!, 0);
      expect(layer.layer).toBe(l);
      expect(layer.experts).toEqual(top);
      for (const [i, e] of top.entries()) expect(layer.gates[i]).toBeCloseTo(p[e]! / mass, 5);
    }
    // The document's token → expert map holds each layer's first choice of every token.
    expect(r.map.tokens.length).toBe(Math.min(tokens.length, model.config.seqLen));
    expect(r.map.tokens[position]).toBe(r.token);
    for (const [l, layer] of r.layers.entries()) expect(r.map.experts[l]![position]).toBe(layer.experts[0]);
    // Another token of the document: the same map, its own experts.
    const later = await moeTokenRouteJob(model, tokenizer, { text: doc, position: position + 5 });
    expect(later.position).toBe(position + 5);
    expect(later.map).toEqual(r.map);
    for (const [l, layer] of later.layers.entries())
      expect(layer.experts[0]).toBe(r.map.experts[l]![position + 5]);
    await expect(moeTokenRouteJob(model, tokenizer, { text: doc, position: tokens.length })).rejects.toThrow(
      /position must be an integer in \[0, \d+\]/,
    );
  });
});

describe('the selected token under a pruning point', () => {
  const { model, tokenizer } = loadStories260K();
  const stories = readFileSync(sharedPath(TINYSTORIES_VALID), 'utf8').split('<|endoftext|>');
  const store = new PruningStore();

  it("scores the document dense and pruned: dense equals the model's per-token loss, pruned the sweep's evaluation", async () => {
    const sweep = await pruningSweepJob(model, tokenizer, store, {
      cellId: 'c1',
      text: stories.slice(0, 20).join('<|endoftext|>'),
      methods: ['magnitude'],
      patterns: ['unstructured'],
      sparsities: parseSparsities([0.5]),
      calibrationWindows: 1,
      maxWindows: 1,
      allocation: 'uniform',
    });
    const doc = stories[3]!.trim();
    const request = { cellId: 'c1', sweepId: sweep.summary.sweepId, variant: 0, text: doc };
    const r = await pruningTokenLossJob(store, tokenizer, request);
    const tokens = tokenizer.encode(doc, { bos: true, source: 'prompt' });
    expect(r.summary.tokens).toBe(tokens.length);
    const dense = lossColumn(r.dense);
    const pruned = lossColumn(r.pruned);
    expect(dense[0]).toBeNull();
    const direct = await perTokenLoss(model, tokens);
    for (let i = 1; i < tokens.length; i++) expect(dense[i]).toBeCloseTo(direct[i - 1]!, 5);
    const kept = store.point(request).pruned;
    const ev = await evaluatePruned(model, tokens, kept, new Int32Array(tokens.length - 1));
    const mean = pruned.slice(1).reduce((s: number, x) => s + x!, 0) / (tokens.length - 1);
    expect(mean).toBeCloseTo(ev.loss, 4);
    // Half the weights gone changes the tokens' losses, and raises their mean.
    expect(pruned.some((x, i) => i > 0 && Math.abs(x! - dense[i]!) > 1e-3)).toBe(true);
    expect(mean).toBeGreaterThan(direct.reduce((s, x) => s + x, 0) / direct.length);
    await expect(pruningTokenLossJob(store, tokenizer, { ...request, variant: 3 })).rejects.toThrow(
      /point must be an integer/,
    );
  }, 60_000);
});
