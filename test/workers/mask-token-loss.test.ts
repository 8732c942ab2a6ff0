/**
 * The attention mask cell's answer to the token selection (CPU backend, stories260K): one
 * document's loss per token dense and with a mask family in every layer. Dense must equal the
 * model's own per-token loss; the masked losses must average to the loss the sweep reports for
 * the same (family, budget) on that document; a mask that keeps every entry changes nothing, and
 * a tight one changes tokens.
 */
import { readFileSync } from 'node:fs';
import type { Table } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { sweepMasks } from '../../analyses/attention/mask-sweep';
import { buildTokenStream, perTokenLoss } from '../../runtime';
import { maskTokenLossJob } from '../../workers/attention-jobs';
import { sharedPath, TINYSTORIES_VALID } from '../helpers/shared-paths';
import { loadStories260K } from '../helpers/stories260k';

const losses = (t: Table) =>
  Array.from({ length: t.numRows }, (_, i) => t.getChild('loss')!.get(i) as number | null);
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

describe('the selected token under an attention mask', () => {
  const { model, tokenizer } = loadStories260K();
  const stories = readFileSync(sharedPath(TINYSTORIES_VALID), 'utf8').split('<|endoftext|>');
  const doc = stories[3]!.trim();
  const tokens = buildTokenStream(tokenizer, doc, 'doc').tokens;

  it("scores dense as the model's per-token loss and masked as the sweep's point, token by token", async () => {
    const r = await maskTokenLossJob(model, tokenizer, { text: doc, family: 'topk', budget: 0.2 });
    expect(r.dense.numRows).toBe(tokens.length);
    expect(r.summary.tokens).toBe(tokens.length);
    const dense = losses(r.dense);
    const masked = losses(r.masked);
    expect(dense[0]).toBeNull();
    expect(masked[0]).toBeNull();
    const plain = await perTokenLoss(model, tokens);
    for (let i = 1; i < tokens.length; i++) expect(dense[i]).toBeCloseTo(plain[i - 1]!, 5);
    const sweep = await sweepMasks(model, tokenizer, doc, { families: ['topk'], budgets: [0.2] });
    const point = sweep.evaluations[0]!;
    expect(mean(masked.slice(1) as number[])).toBeCloseTo(point.loss, 5);
    expect(r.summary.loss).toBeCloseTo(point.loss, 6);
    expect(r.summary.denseLoss).toBeCloseTo(point.dense_loss, 6);
    // Keeping a fifth of the entries moves tokens: the largest change is well above float noise.
    const change = masked.slice(1).map((m, i) => Math.abs(m! - dense[i + 1]!));
    expect(Math.max(...change)).toBeGreaterThan(0.05);
  });

  it('changes nothing when the mask keeps every causal entry', async () => {
    const r = await maskTokenLossJob(model, tokenizer, { text: doc, family: 'topk', budget: 1 });
    const dense = losses(r.dense);
    losses(r.masked).forEach((m, i) =>
      i === 0 ? expect(m).toBeNull() : expect(m).toBeCloseTo(dense[i]!, 5),
    );
  });

  it('calibrates the channel family on the given held-out text', async () => {
    const held = stories.slice(5, 8).join('\n\n');
    const r = await maskTokenLossJob(model, tokenizer, {
      text: doc,
      family: 'channel',
      budget: 0.3,
      calibrationText: held,
    });
    const sweep = await sweepMasks(model, tokenizer, doc, {
      families: ['channel'],
      budgets: [0.3],
      calibrationText: held,
    });
    expect(r.summary.loss).toBeCloseTo(sweep.evaluations[0]!.loss, 6);
  });

  it('refuses a budget the family cannot take and an unknown family', async () => {
    await expect(
      maskTokenLossJob(model, tokenizer, { text: doc, family: 'block', budget: 4 }),
    ).rejects.toThrow(/budget must be in \(0, 1\] for block, got 4/);
    await expect(
      maskTokenLossJob(model, tokenizer, { text: doc, family: 'nope', budget: 0.5 }),
    ).rejects.toThrow(/nope/);
  });
});
