/**
 * How the MoE and pruning cells shape their answers to the notebook's selection (pure): the
 * selection resolved to its document's text, the token's experts per layer with their gate shares,
 * and a pruning point's per-token loss change decoded from the job's two token-loss tables.
 */
import { tableToIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { routeRows } from '../../../app/cells/moe-lab/moe-lab-data';
import { decodeLossDelta, tokenDelta } from '../../../app/cells/token-loss-delta';
import { selectedDocumentOf } from '../../../app/cells/text/text-kind';
import { setSelection } from '../../../app/notebook/edit';
import { tokenLossTable } from '../../../runtime/tables';
import { sampleNotebook } from '../notebook/persistence-fixtures';

describe('the selection as cells without a text input see it', () => {
  it("resolves to its document's text, and to nothing when the document is gone", () => {
    const doc = sampleNotebook();
    expect(selectedDocumentOf(doc)).toBeUndefined();
    const sel = setSelection(doc, { text: 't1', document: 1, position: 2, source: 'v1' });
    expect(selectedDocumentOf(sel)).toEqual({
      text: 't1',
      document: 1,
      position: 2,
      documentText: 'The end.',
    });
    const first = setSelection(doc, { text: 't1', document: 0, position: 0 });
    expect(selectedDocumentOf(first)?.documentText).toBe('Once upon a time');
    expect(selectedDocumentOf(setSelection(doc, { text: 't1', document: 2, position: 0 }))).toBeUndefined();
    // A selection naming a cell that is not a text cell answers nothing.
    expect(selectedDocumentOf(setSelection(doc, { text: 'v1', document: 0, position: 0 }))).toBeUndefined();
  });
});

describe("the selected token's experts", () => {
  it('lists each layer’s experts best first with their share of the gate mass, dropping empty slots', () => {
    const rows = routeRows({
      position: 3,
      tokenId: 42,
      token: ' cat',
      documentTokens: 9,
      nExperts: 8,
      topK: 2,
      layers: [
        { layer: 0, experts: [5, 2], gates: [0.75, 0.25] },
        { layer: 1, experts: [1, -1], gates: [0.3, 0] },
      ],
      map: { tokens: [], experts: [] },
    });
    expect(rows).toEqual([
      {
        layer: 0,
        experts: [
          { expert: 5, gate: 0.75, share: 0.75 },
          { expert: 2, gate: 0.25, share: 0.25 },
        ],
      },
      { layer: 1, experts: [{ expert: 1, gate: 0.3, share: 1 }] },
    ]);
  });
});

describe("a pruning point's or a mask's loss change per token", () => {
  const tokens = { tokenIds: [1, 10, 11, 12], tokens: ['<s>', 'Once', ' upon', ' a'] };
  const ipc = (losses: number[]) => tableToIPC(tokenLossTable({ ...tokens, losses }), 'stream');

  it('gives each token changed − dense, and the selected token its own', () => {
    const d = decodeLossDelta(ipc([2, 1, 0.5]), ipc([2.5, 1, 0.25]));
    expect(d.tokens).toEqual(tokens.tokens);
    expect(d.dense[0]).toBeNull();
    const delta = Array.from(d.strip.getChild('delta')!.toArray() as Float32Array);
    expect(delta[0]).toBeNaN(); // the document token: nothing predicts it
    expect(delta.slice(1)).toEqual([0.5, 0, -0.25]);
    expect(tokenDelta(d, 1)).toEqual({ token: 'Once', dense: 2, changed: 2.5, delta: 0.5 });
    expect(tokenDelta(d, 3)?.delta).toBeCloseTo(-0.25, 6);
    expect(tokenDelta(d, 0)).toBeUndefined();
    expect(tokenDelta(d, 4)).toBeUndefined(); // past the scored tokens
  });

  it('refuses tables naming different tokens', () => {
    const short = tableToIPC(
      tokenLossTable({ tokenIds: [1, 10], tokens: ['<s>', 'Once'], losses: [1] }),
      'stream',
    );
    expect(() => decodeLossDelta(ipc([2, 1, 0.5]), short)).toThrow(/dense has 4 tokens, changed 2/);
  });
});
