/**
 * The interpretability cells' worker jobs on stories260K (CPU backend): the logit lens grid covers
 * every position × layer boundary and its last boundary is the model's output; patching's tables
 * hold the name-to-pronoun finding the CLI test pins (restored 1 everywhere with all positions at
 * the embedding boundary, the name's position through layer 2, head L2.H6); DLA's parts sum to the
 * logit difference; the explorer's statistics equal a direct computation from the values table it
 * sends. One of each also goes through the real client over a MessageChannel.
 */
import { tableFromIPC, type Table } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { readTensorTable } from '../../runtime/tensor-table';
import { activationsJob, dlaJob, logitLensJob, patchJob } from '../../workers/interp-jobs';
import { storiesClient } from '../helpers/local-runtime';
import { loadStories260K } from '../helpers/stories260k';

const { model, tokenizer } = loadStories260K();
const CLEAN = 'Once upon a time, there was a kid named Lily. One day,';
const CORRUPTED = 'Once upon a time, there was a kid named Tim. One day,';
const col = (t: Table, name: string) => Array.from(t.getChild(name)!.toArray() as ArrayLike<number>);

describe('logitLensJob', () => {
  it('reads every position at every boundary; the last boundary is the output', async () => {
    const progress: number[] = [];
    const r = await logitLensJob(
      model,
      tokenizer,
      { text: CLEAN, topK: 3 },
      { onProgress: (p) => progress.push(p.done) },
    );
    const T = r.tables.tokens.numRows;
    expect(r.summary.positions).toBe(T - 1);
    expect(progress).toEqual([0, 1]);
    expect(r.tables.layers.numRows).toBe(6);
    expect(r.tables.grid.numRows).toBe((T - 1) * 6);
    expect(r.summary.finalKl).toBeLessThan(1e-6);
    const layer = col(r.tables.grid, 'layer');
    const agree = col(r.tables.grid, 'top1_agree');
    const kl = col(r.tables.grid, 'kl');
    const finalRows = layer.flatMap((l, i) => (l === 5 ? [i] : []));
    for (const i of finalRows) expect([agree[i], kl[i]! < 1e-6]).toEqual([1, true]);
    // The embeddings alone disagree with the output somewhere.
    expect(layer.some((l, i) => l === 0 && agree[i] === 0)).toBe(true);
    const top = r.tables.grid.getChild('top')!.get(0) as string;
    expect(top.split('\n')).toHaveLength(3);
    expect(r.tables.tokens.getChild('token')!.get(0)).toBe('<s>');
  }, 60_000);

  it('refuses a bad top-k and an empty document', async () => {
    await expect(logitLensJob(model, tokenizer, { text: CLEAN, topK: 0 })).rejects.toThrow(
      /top tokens must be/,
    );
    await expect(logitLensJob(model, tokenizer, { text: '', topK: 3 })).rejects.toThrow(/at least one token/);
  });
});

describe('patchJob', () => {
  const base = {
    clean: CLEAN,
    corrupted: CORRUPTED,
    answer: ' she',
    wrong: ' he',
    metric: 'logit-diff' as const,
  };

  it('by position: the name carries it through layer 2; the tokens table marks the changed token', async () => {
    const r = await patchJob(model, tokenizer, {
      ...base,
      hook: 'hook_resid_pre',
      positions: 'each',
      perHead: false,
    });
    expect(r.summary.clean).toBeGreaterThan(2);
    expect(r.summary.corrupted).toBeLessThan(-2);
    const labels = r.tables.tokens.getChild('token')!.toArray() as string[];
    const name = labels.findIndex((t) => t.includes('→'));
    expect(labels[name]).toMatch(/Lil.*→.*Tim/);
    const t = r.tables.restored;
    const rows = col(t, 'layer').map((layer, i) => ({
      layer,
      p: col(t, 'position')[i]!,
      v: col(t, 'restored')[i]!,
    }));
    expect(rows).toHaveLength(5 * labels.length);
    const at = (l: number, p: number) => rows.find((x) => x.layer === l && x.p === p)!.v;
    for (const l of [0, 1, 2]) expect(at(l, name)).toBeGreaterThan(0.9);
    expect(at(3, labels.length - 1)).toBeGreaterThan(0.3);
  }, 120_000);

  it('all positions at the first boundary restores 1; per head finds L2.H6', async () => {
    const all = await patchJob(model, tokenizer, {
      ...base,
      hook: 'hook_resid_pre',
      positions: 'all',
      perHead: false,
    });
    expect(col(all.tables.restored, 'restored')[0]).toBeCloseTo(1, 5);
    const heads = await patchJob(model, tokenizer, {
      ...base,
      hook: 'attn.hook_z',
      positions: 'all',
      perHead: true,
    });
    const t = heads.tables.restored;
    const i = col(t, 'layer').findIndex((l, k) => l === 2 && col(t, 'head')[k] === 6);
    expect(col(t, 'restored')[i]).toBeGreaterThan(0.4);
  }, 120_000);

  it('names a multi-token answer and prompts of different lengths', async () => {
    await expect(
      patchJob(model, tokenizer, {
        ...base,
        answer: ' she went',
        hook: 'hook_resid_pre',
        positions: 'all',
        perHead: false,
      }),
    ).rejects.toThrow(/answer " she went" is \d tokens/);
    await expect(
      patchJob(model, tokenizer, {
        ...base,
        corrupted: 'Tim.',
        hook: 'hook_resid_pre',
        positions: 'all',
        perHead: false,
      }),
    ).rejects.toThrow(/token length|same number of tokens|tokens/);
  });
});

describe('dlaJob', () => {
  it('parts sum to the logit difference; L2.H6, L4.H0, L4.H2 push toward " she"', async () => {
    const r = await dlaJob(model, tokenizer, { text: CLEAN, answer: ' she', wrong: ' he', position: -1 });
    const values = col(r.tables.parts, 'value');
    const sum = values.reduce((a, b) => a + b, 0);
    expect(Math.abs(sum - r.summary.logitDiffBeforeSoftcap)).toBeLessThan(1e-4);
    expect(r.summary.position).toBe(r.tables.tokens.numRows - 1);
    const names = r.tables.parts.getChild('name')!.toArray() as string[];
    for (const n of ['L2.H6', 'L4.H0', 'L4.H2']) expect(values[names.indexOf(n)]).toBeGreaterThan(0.3);
  });
});

describe('activationsJob', () => {
  it('statistics equal a direct computation from the values it sends', async () => {
    const hook = 'blocks.1.hook_resid_post';
    const r = await activationsJob(model, tokenizer, {
      text: CLEAN,
      hook,
      nearZero: 0.05,
      neuronThreshold: 0.05,
    });
    const { shape, data } = readTensorTable(r.tables.values);
    const [T, C] = shape as [number, number];
    expect([T, C]).toEqual([r.tables.tokens.numRows, model.config.dim]);
    const meanAbs = col(r.tables.channels, 'mean_abs');
    const maxAbs = col(r.tables.channels, 'max_abs');
    const nearZero = col(r.tables.channels, 'near_zero');
    for (let c = 0; c < C; c++) {
      let sum = 0;
      let max = 0;
      let near = 0;
      for (let t = 0; t < T; t++) {
        const a = Math.abs(data[t * C + c]!);
        sum += a;
        max = Math.max(max, a);
        if (a <= 0.05) near++;
      }
      expect(meanAbs[c]).toBeCloseTo(sum / T, 5);
      expect(maxAbs[c]).toBeCloseTo(max, 5);
      expect(nearZero[c]).toBeCloseTo(near / T, 10);
    }
    const perToken = col(r.tables.token_sparsity, 'near_zero');
    for (let t = 0; t < T; t++) {
      let near = 0;
      for (let c = 0; c < C; c++) if (Math.abs(data[t * C + c]!) <= 0.05) near++;
      expect(perToken[t]).toBeCloseTo(near / C, 10);
    }
    // Dense model: FFN neuron chunk sparsity per layer, CLS falling with the chunk length.
    const chunks = r.tables.chunks!;
    const l0 = col(chunks, 'layer').flatMap((l, i) => (l === 0 ? [col(chunks, 'cls')[i]!] : []));
    expect(l0.length).toBeGreaterThan(2);
    for (let i = 1; i < l0.length; i++) expect(l0[i]).toBeLessThanOrEqual(l0[i - 1]! + 1e-12);
  });

  it('flattens heads into channels and refuses an unknown hook', async () => {
    const r = await activationsJob(model, tokenizer, {
      text: CLEAN,
      hook: 'blocks.0.attn.hook_z',
      nearZero: 0.01,
      neuronThreshold: 0.05,
    });
    expect(r.summary.channels).toBe(model.config.nHeads * model.config.headDim);
    await expect(
      activationsJob(model, tokenizer, {
        text: CLEAN,
        hook: 'blocks.9.hook_resid_post',
        nearZero: 0.01,
        neuronThreshold: 0.05,
      }),
    ).rejects.toThrow(/not a hook point of/);
  });
});

describe('through the client', () => {
  it('runs each interp job and sends its tables as Arrow IPC', async () => {
    const client = await storiesClient();
    try {
      const lens = await client.logitLens({ text: CLEAN, topK: 2 });
      expect(tableFromIPC(lens.tables.layers).numRows).toBe(6);
      const dla = await client.logitAttribution({ text: CLEAN, answer: ' she', wrong: ' he', position: -1 });
      expect(tableFromIPC(dla.tables.parts).numRows).toBeGreaterThan(40);
      const act = await client.activations({
        text: CLEAN,
        hook: 'blocks.0.hook_resid_post',
        nearZero: 0.01,
        neuronThreshold: 0.05,
      });
      expect(readTensorTable(tableFromIPC(act.tables.values)).shape[1]).toBe(64);
      const patch = await client.patching({
        clean: CLEAN,
        corrupted: CORRUPTED,
        answer: ' she',
        wrong: ' he',
        metric: 'logit-diff',
        hook: 'hook_resid_pre',
        positions: 'all',
        perHead: false,
      });
      expect(tableFromIPC(patch.tables.restored).numRows).toBe(5);
    } finally {
      client.dispose();
    }
  }, 120_000);
});
