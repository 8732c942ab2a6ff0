import { describe, expect, it } from 'vitest';
import { tableFromIPC, tableToIPC } from 'apache-arrow';
import {
  NEXT_TOKEN_COLUMNS,
  nextTokenTable,
  TABLE_KIND_KEY,
  TOKEN_LOSS_COLUMNS,
  TOKEN_LOSS_SCHEMA,
  tokenLossTable,
} from '../../runtime/tables';

/** Serialise and parse again, as the worker boundary does. */
function roundTrip<T extends Parameters<typeof tableToIPC>[0]>(t: T) {
  return tableFromIPC(tableToIPC(t, 'stream'));
}

describe('next-token table', () => {
  const input = {
    tokenIds: [13, 400, 2],
    tokens: [',', ' there', '<0x0A> & <b>ü</b>'],
    probabilities: [0.5, 0.25, 0.125],
    logits: [3.5, 2.75, -1],
  };

  it('round-trips through Arrow IPC with the documented schema', () => {
    const t = roundTrip(nextTokenTable(input));
    expect(t.numRows).toBe(3);
    expect(t.schema.fields.map((f) => [f.name, String(f.type), f.nullable])).toEqual([
      ['rank', 'Int32', false],
      ['token_id', 'Int32', false],
      ['token', 'Utf8', false],
      ['probability', 'Float32', false],
      ['logit', 'Float32', false],
    ]);
    expect(t.schema.metadata.get(TABLE_KIND_KEY)).toBe('next-token');
    expect(Array.from(t.getChild(NEXT_TOKEN_COLUMNS.rank)!.toArray())).toEqual([0, 1, 2]);
    expect(Array.from(t.getChild(NEXT_TOKEN_COLUMNS.tokenId)!.toArray())).toEqual([13, 400, 2]);
    expect(t.getChild(NEXT_TOKEN_COLUMNS.token)!.toArray()).toEqual(input.tokens);
    expect(Array.from(t.getChild(NEXT_TOKEN_COLUMNS.probability)!.toArray())).toEqual([0.5, 0.25, 0.125]);
    expect(Array.from(t.getChild(NEXT_TOKEN_COLUMNS.logit)!.toArray())).toEqual([3.5, 2.75, -1]);
  });

  it('builds an empty table', () => {
    const t = roundTrip(nextTokenTable({ tokenIds: [], tokens: [], probabilities: [], logits: [] }));
    expect(t.numRows).toBe(0);
    expect(t.schema.fields.map((f) => f.name)).toEqual(Object.values(NEXT_TOKEN_COLUMNS));
  });

  it('rejects columns of different lengths', () => {
    expect(() => nextTokenTable({ ...input, logits: [1] })).toThrow(/logits has length 1, expected 3/);
  });
});

describe('token-loss table', () => {
  it('round-trips with a null loss for the first token', () => {
    const t = roundTrip(
      tokenLossTable({ tokenIds: [1, 403, 2501], tokens: ['<s>', ' Once', ' upon'], losses: [4.5, 0.25] }),
    );
    expect(t.numRows).toBe(3);
    expect(t.schema.fields.map((f) => [f.name, String(f.type), f.nullable])).toEqual([
      ['position', 'Int32', false],
      ['token_id', 'Int32', false],
      ['token', 'Utf8', false],
      ['loss', 'Float32', true],
    ]);
    expect(t.schema.metadata.get(TABLE_KIND_KEY)).toBe('token-loss');
    const rows = t.toArray().map((r) => r.toJSON());
    expect(rows).toEqual([
      { position: 0, token_id: 1, token: '<s>', loss: null },
      { position: 1, token_id: 403, token: ' Once', loss: 4.5 },
      { position: 2, token_id: 2501, token: ' upon', loss: 0.25 },
    ]);
    expect(t.getChild(TOKEN_LOSS_COLUMNS.loss)!.nullCount).toBe(1);
  });

  it('handles a single token and no tokens', () => {
    const one = roundTrip(tokenLossTable({ tokenIds: [1], tokens: ['<s>'], losses: [] }));
    expect(one.toArray().map((r) => r.toJSON())).toEqual([
      { position: 0, token_id: 1, token: '<s>', loss: null },
    ]);
    const none = roundTrip(tokenLossTable({ tokenIds: [], tokens: [], losses: [] }));
    expect(none.numRows).toBe(0);
    expect(none.schema.fields.map((f) => f.name)).toEqual(TOKEN_LOSS_SCHEMA.fields.map((f) => f.name));
  });

  it('rejects a loss count that is not one less than the token count', () => {
    expect(() => tokenLossTable({ tokenIds: [1, 2], tokens: ['a', 'b'], losses: [1, 2] })).toThrow(
      /losses \+ 1 has length 3, expected 2/,
    );
  });
});
