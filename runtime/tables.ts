/**
 * Arrow schemas of the tables the runtime worker returns, shared by the worker (which builds them)
 * and the UI (which reads them after `tableFromIPC`). Column names are snake_case, as in every
 * Arrow/Parquet consumer the tables may end up in; each schema carries its table kind in the
 * `sparsebook.table` metadata key so an embedded IPC blob identifies itself.
 *
 * This module depends on apache-arrow only: the main thread may import it without pulling in any
 * compute code.
 */
import {
  Binary,
  Field,
  Float32,
  Float64,
  Int32,
  makeData,
  makeVector,
  RecordBatch,
  Schema,
  Struct,
  Table,
  Utf8,
  vectorFromArray,
  type TypeMap,
  type Vector,
} from 'apache-arrow';

/** Metadata key naming the kind of a table (`next-token`, `token-loss`). */
export const TABLE_KIND_KEY = 'sparsebook.table';

/**
 * Columns of the next-token table: the k most probable next tokens after a prompt, one row each,
 * most probable first.
 *
 * - `rank` (int32): 0 for the most probable token, then 1, 2, … (rows are sorted by rank).
 * - `token_id` (int32): the token's id in the model's vocabulary.
 * - `token` (utf8): the token as text (its tokenizer piece, leading space kept; byte tokens such as
 *   `<0x0A>` decode to their character). Untrusted: render as text, never as HTML.
 * - `probability` (float32): softmax probability over the whole vocabulary, in [0, 1]; the column
 *   sums to at most 1 (exactly 1 only when k is the vocabulary size).
 * - `logit` (float32): the raw classifier output for the token.
 */
export const NEXT_TOKEN_COLUMNS = {
  rank: 'rank',
  tokenId: 'token_id',
  token: 'token',
  probability: 'probability',
  logit: 'logit',
} as const;

/** Arrow schema of the next-token table (see `NEXT_TOKEN_COLUMNS`); no column is nullable. */
export const NEXT_TOKEN_SCHEMA = new Schema(
  [
    new Field(NEXT_TOKEN_COLUMNS.rank, new Int32(), false),
    new Field(NEXT_TOKEN_COLUMNS.tokenId, new Int32(), false),
    new Field(NEXT_TOKEN_COLUMNS.token, new Utf8(), false),
    new Field(NEXT_TOKEN_COLUMNS.probability, new Float32(), false),
    new Field(NEXT_TOKEN_COLUMNS.logit, new Float32(), false),
  ],
  new Map([[TABLE_KIND_KEY, 'next-token']]),
);

/** Type map of the next-token table, for `Table<NextTokenTypes>`. */
export type NextTokenTypes = {
  rank: Int32;
  token_id: Int32;
  token: Utf8;
  probability: Float32;
  logit: Float32;
};

/**
 * Columns of the token-loss table: one row per token of an encoded text (BOS included), in order.
 *
 * - `position` (int32): the token's position in the sequence, 0 for the first (BOS).
 * - `token_id` (int32): the token's id in the model's vocabulary.
 * - `token` (utf8): the token as text (see `NEXT_TOKEN_COLUMNS.token`). Untrusted.
 * - `loss` (float32, nullable): cross-entropy in nats of predicting this token from the ones before
 *   it, −ln p(token | previous tokens). Null for position 0, which nothing predicts.
 */
export const TOKEN_LOSS_COLUMNS = {
  position: 'position',
  tokenId: 'token_id',
  token: 'token',
  loss: 'loss',
} as const;

/** Arrow schema of the token-loss table (see `TOKEN_LOSS_COLUMNS`); only `loss` is nullable. */
export const TOKEN_LOSS_SCHEMA = new Schema(
  [
    new Field(TOKEN_LOSS_COLUMNS.position, new Int32(), false),
    new Field(TOKEN_LOSS_COLUMNS.tokenId, new Int32(), false),
    new Field(TOKEN_LOSS_COLUMNS.token, new Utf8(), false),
    new Field(TOKEN_LOSS_COLUMNS.loss, new Float32(), true),
  ],
  new Map([[TABLE_KIND_KEY, 'token-loss']]),
);

/** Type map of the token-loss table, for `Table<TokenLossTypes>`. */
export type TokenLossTypes = {
  position: Int32;
  token_id: Int32;
  token: Utf8;
  loss: Float32;
};

/** Input of `nextTokenTable`: parallel arrays, most probable first. */
export interface NextTokenColumnsInput {
  tokenIds: ArrayLike<number>;
  tokens: readonly string[];
  probabilities: ArrayLike<number>;
  logits: ArrayLike<number>;
}

/**
 * Build a next-token table. Rows must already be sorted by descending probability; `rank` is the
 * row index.
 *
 * @example
 * const t = nextTokenTable({ tokenIds: [13], tokens: [','], probabilities: [0.9], logits: [7.1] });
 * t.getChild('probability')?.get(0); // ≈ 0.9
 */
export function nextTokenTable(input: NextTokenColumnsInput): Table<NextTokenTypes> {
  const n = input.tokenIds.length;
  sameLength('nextTokenTable', n, {
    tokens: input.tokens.length,
    probabilities: input.probabilities.length,
    logits: input.logits.length,
  });
  return tableOf<NextTokenTypes>(NEXT_TOKEN_SCHEMA, n, [
    int32(Int32Array.from({ length: n }, (_, i) => i)),
    int32(Int32Array.from(input.tokenIds)),
    vectorFromArray(input.tokens, new Utf8()),
    float32(Float32Array.from(input.probabilities)),
    float32(Float32Array.from(input.logits)),
  ]);
}

/** Input of `tokenLossTable`: T tokens and the T − 1 losses of tokens 1..T−1. */
export interface TokenLossColumnsInput {
  tokenIds: ArrayLike<number>;
  tokens: readonly string[];
  /** losses[i] is the loss of token i + 1 (length T − 1; empty when T ≤ 1). */
  losses: ArrayLike<number>;
}

/**
 * Build a token-loss table; the first row's loss is null.
 *
 * @example
 * const t = tokenLossTable({ tokenIds: [1, 403], tokens: ['<s>', ' Once'], losses: [2.5] });
 * t.getChild('loss')?.toArray(); // [null, 2.5] as a nullable column
 */
export function tokenLossTable(input: TokenLossColumnsInput): Table<TokenLossTypes> {
  const n = input.tokenIds.length;
  sameLength('tokenLossTable', n, { tokens: input.tokens.length, 'losses + 1': input.losses.length + 1 });
  const losses: (number | null)[] = [null];
  for (let i = 0; i < input.losses.length; i++) losses.push(input.losses[i]!);
  if (n === 0) losses.length = 0;
  return tableOf<TokenLossTypes>(TOKEN_LOSS_SCHEMA, n, [
    int32(Int32Array.from({ length: n }, (_, i) => i)),
    int32(Int32Array.from(input.tokenIds)),
    vectorFromArray(input.tokens, new Utf8()),
    vectorFromArray(losses, new Float32()),
  ]);
}

const int32 = (data: Int32Array) => makeVector(data);
const float32 = (data: Float32Array) => makeVector(data);

/**
 * One record batch with exactly `schema` (a Table built from named vectors would infer
 * nullability). Shared by every module that builds a documented table.
 */
export function tableOf<T extends TypeMap = TypeMap>(
  schema: Schema,
  length: number,
  columns: Vector[],
): Table<T> {
  const children = columns.map((v) => v.data[0] ?? makeData({ type: v.type, length: 0 }));
  const data = makeData({ type: new Struct(schema.fields), length, nullCount: 0, children });
  return new Table(schema, new RecordBatch(schema, data)) as unknown as Table<T>;
}

/**
 * A table of `schema` from plain row objects (keyed by column name): Utf8 columns take strings,
 * Int32 integers, Float32 / Float64 numbers, Binary Uint8Arrays.
 *
 * @example
 * tableFromRows(SWEEP_SCHEMA, [{ family: 'topk', budget: 8, … }]).numRows; // 1
 */
export function tableFromRows<T extends TypeMap = TypeMap>(
  schema: Schema,
  rows: readonly object[],
): Table<T> {
  const columns = schema.fields.map((f) => {
    const get = (r: object) => (r as Record<string, unknown>)[f.name];
    if (f.type instanceof Utf8)
      return vectorFromArray(
        rows.map((r) => String(get(r))),
        new Utf8(),
      );
    if (f.type instanceof Int32) return makeVector(Int32Array.from(rows, (r) => Number(get(r))));
    if (f.type instanceof Float32) return makeVector(Float32Array.from(rows, (r) => Number(get(r))));
    if (f.type instanceof Float64) return makeVector(Float64Array.from(rows, (r) => Number(get(r))));
    if (f.type instanceof Binary)
      return vectorFromArray(
        rows.map((r) => get(r) as Uint8Array),
        new Binary(),
      );
    throw new Error(`tableFromRows: column "${f.name}" has unsupported type ${String(f.type)}`);
  });
  return tableOf<T>(schema, rows.length, columns);
}

/** Plain objects back from a table (for JSON and searches over its rows). */
export function tableRows<R>(t: Table): R[] {
  const names = t.schema.fields.map((f) => f.name);
  const cols = names.map((n) => t.getChild(n)!);
  return Array.from({ length: t.numRows }, (_, r) => {
    const o: Record<string, unknown> = {};
    names.forEach((n, c) => (o[n] = cols[c]!.get(r)));
    return o as R;
  });
}

function sameLength(what: string, n: number, others: Record<string, number>): void {
  for (const [name, len] of Object.entries(others)) {
    if (len !== n && !(n === 0 && name === 'losses + 1' && len === 1)) {
      throw new Error(`${what}: ${name} has length ${len}, expected ${n} (one per token id)`);
    }
  }
}
