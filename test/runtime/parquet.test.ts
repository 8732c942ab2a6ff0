/** tableToParquet: Arrow tables written as Parquet and read back with hyparquet. */
import {
  Bool,
  Dictionary,
  Field,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  Int8,
  makeVector,
  Schema,
  Uint8,
  Uint32,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { tableToParquet } from '../../runtime/parquet';
import { TABLE_KIND_KEY, tableOf } from '../../runtime/tables';

const buffer = (bytes: Uint8Array): ArrayBuffer =>
  bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;

/** Shaped like the per-head probe table: int32 keys, float32 metrics, kind in the metadata. */
function probeLike() {
  const f32 = (name: string) => new Field(name, new Float32(), false);
  const schema = new Schema(
    [
      new Field('layer', new Int32(), false),
      new Field('head', new Int32(), false),
      f32('entropy'),
      f32('sink_mass'),
      f32('coverage_top_1'),
      f32('locality_2_3'),
    ],
    new Map([[TABLE_KIND_KEY, 'attention-head-probes']]),
  );
  const layer = Int32Array.of(0, 0, 1, 1);
  const head = Int32Array.of(0, 1, 0, 1);
  const entropy = Float32Array.of(1.25, 0.1, 2.718281828, 3.3);
  const sink = Float32Array.of(0.9, 0.05, 1e-7, 0.333333333);
  const coverage = Float32Array.of(0.5, 0.6, 0.7, 0.8);
  const locality = Float32Array.of(0, 0.25, 0.125, 1);
  const table = tableOf(schema, 4, [
    makeVector(layer),
    makeVector(head),
    makeVector(entropy),
    makeVector(sink),
    makeVector(coverage),
    makeVector(locality),
  ]);
  return {
    table,
    columns: { layer, head, entropy, sink_mass: sink, coverage_top_1: coverage, locality_2_3: locality },
  };
}

describe('tableToParquet', () => {
  it('keeps a probe-like table: names, order, FLOAT / INT32 types, exact float32 values, metadata', async () => {
    const { table, columns } = probeLike();
    const bytes = tableToParquet(table);
    expect(new TextDecoder().decode(bytes.subarray(0, 4))).toBe('PAR1');
    const file = buffer(bytes);
    const meta = parquetMetadata(file);
    expect(Number(meta.num_rows)).toBe(4);
    const leaves = meta.schema.slice(1);
    expect(leaves.map((e) => e.name)).toEqual(Object.keys(columns));
    expect(leaves.map((e) => e.type)).toEqual(['INT32', 'INT32', 'FLOAT', 'FLOAT', 'FLOAT', 'FLOAT']);
    expect(leaves.every((e) => e.repetition_type === 'REQUIRED')).toBe(true);
    expect(meta.key_value_metadata).toEqual(
      expect.arrayContaining([{ key: TABLE_KIND_KEY, value: 'attention-head-probes' }]),
    );

    const rows = await parquetReadObjects({ file });
    expect(rows).toHaveLength(4);
    for (const [name, values] of Object.entries(columns)) {
      // float32 stays float32: the values read back are the exact float32 numbers.
      expect(rows.map((r) => r[name])).toEqual(Array.from(values));
    }
  });

  it('maps every supported type, nulls included', async () => {
    const schema = new Schema([
      new Field('f64', new Float64(), false),
      new Field('i8', new Int8(), false),
      new Field('i16', new Int16(), false),
      new Field('u8', new Uint8(), false),
      new Field('i64', new Int64(), false),
      new Field('name', new Utf8(), false),
      new Field('flag', new Bool(), false),
      new Field('maybe', new Float32(), true),
    ]);
    const table = tableOf(schema, 3, [
      makeVector(Float64Array.of(0.1, -2, 1e300)),
      makeVector(Int8Array.of(-128, 0, 127)),
      makeVector(Int16Array.of(-32768, 1, 32767)),
      makeVector(Uint8Array.of(0, 128, 255)),
      makeVector(BigInt64Array.of(-(2n ** 62n), 0n, 2n ** 62n)),
      vectorFromArray(['topk', 'window-sink', 'é ✓'], new Utf8()),
      vectorFromArray([true, false, true], new Bool()),
      vectorFromArray([1.5, null, -0.25], new Float32()),
    ]);
    const file = buffer(tableToParquet(table));
    const leaves = parquetMetadata(file).schema.slice(1);
    expect(leaves.map((e) => [e.name, e.type, e.converted_type, e.repetition_type])).toEqual([
      ['f64', 'DOUBLE', undefined, 'REQUIRED'],
      ['i8', 'INT32', 'INT_8', 'REQUIRED'],
      ['i16', 'INT32', 'INT_16', 'REQUIRED'],
      ['u8', 'INT32', 'UINT_8', 'REQUIRED'],
      ['i64', 'INT64', undefined, 'REQUIRED'],
      ['name', 'BYTE_ARRAY', 'UTF8', 'REQUIRED'],
      ['flag', 'BOOLEAN', undefined, 'REQUIRED'],
      ['maybe', 'FLOAT', undefined, 'OPTIONAL'],
    ]);
    const rows = await parquetReadObjects({ file });
    expect(rows).toEqual([
      { f64: 0.1, i8: -128, i16: -32768, u8: 0, i64: -(2n ** 62n), name: 'topk', flag: true, maybe: 1.5 },
      { f64: -2, i8: 0, i16: 1, u8: 128, i64: 0n, name: 'window-sink', flag: false, maybe: null },
      { f64: 1e300, i8: 127, i16: 32767, u8: 255, i64: 2n ** 62n, name: 'é ✓', flag: true, maybe: -0.25 },
    ]);
  });

  it('writes an empty table with its schema', async () => {
    const { table } = probeLike();
    const file = buffer(tableToParquet(table.slice(0, 0)));
    const meta = parquetMetadata(file);
    expect(Number(meta.num_rows)).toBe(0);
    expect(meta.schema.slice(1).map((e) => e.name)).toEqual(table.schema.fields.map((f) => f.name));
    expect(await parquetReadObjects({ file })).toEqual([]);
  });

  it('names the column and type it cannot write', () => {
    const u32 = tableOf(new Schema([new Field('count', new Uint32(), false)]), 1, [
      makeVector(Uint32Array.of(1)),
    ]);
    expect(() => tableToParquet(u32)).toThrow(/column "count" has Arrow type Uint32.*supported: Float32/);
    const dict = vectorFromArray(['a', 'b', 'a'], new Dictionary(new Utf8(), new Int32()));
    const t = tableOf(new Schema([new Field('family', dict.type, false)]), 3, [dict]);
    expect(() => tableToParquet(t)).toThrow(/column "family" has Arrow type Dictionary/);
  });
});
