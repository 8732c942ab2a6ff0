/**
 * Arrow table → Parquet bytes (hyparquet-writer), for exports such as
 * `sparsebook attention-probe --out FILE.parquet`. Column names and order are kept; each column
 * becomes one flat Parquet column:
 *
 * | Arrow            | Parquet physical type (converted type) |
 * | ---------------- | -------------------------------------- |
 * | Float32          | FLOAT                                  |
 * | Float64          | DOUBLE                                 |
 * | Int8 / Int16     | INT32 (INT_8 / INT_16)                 |
 * | Int32            | INT32                                  |
 * | Uint8            | INT32 (UINT_8)                         |
 * | Int64 (BigInt64) | INT64                                  |
 * | Utf8             | BYTE_ARRAY (UTF8)                      |
 * | Bool             | BOOLEAN                                |
 *
 * A non-nullable Arrow field without nulls is REQUIRED, any other OPTIONAL. The schema's metadata
 * (e.g. `sparsebook.table`) becomes the file's key-value metadata.
 */
import { DataType, Precision, type Field, type Table, type Vector } from 'apache-arrow';
import { parquetWriteBuffer, type ColumnSource, type SchemaElement } from 'hyparquet-writer';

/** The Arrow types `tableToParquet` writes, for error messages. */
const SUPPORTED = 'Float32, Float64, Int8, Int16, Int32, Uint8, Int64, Utf8, Bool';

type Data = ColumnSource['data'];
type Mapped = { element: Omit<SchemaElement, 'name' | 'repetition_type'>; data: Data };

/**
 * The table as one Parquet file (SNAPPY-compressed, with column statistics).
 *
 * @example
 * await writeFile('heads.parquet', tableToParquet(probes.heads));
 * @throws Error naming the column and its Arrow type when a column's type is not supported
 *   (dictionaries, lists, structs, timestamps, Float16, unsigned 16–64-bit integers, …).
 */
export function tableToParquet(table: Table): Uint8Array {
  const fields = table.schema.fields;
  const schema: SchemaElement[] = [{ name: 'root', num_children: fields.length }];
  const columnData: ColumnSource[] = [];
  fields.forEach((field, i) => {
    const vector = table.getChildAt(i);
    if (!vector) throw new Error(`column "${field.name}" has no data`);
    const optional = field.nullable || vector.nullCount > 0;
    const { element, data } = mapColumn(field, vector, optional);
    schema.push({ name: field.name, ...element, repetition_type: optional ? 'OPTIONAL' : 'REQUIRED' });
    columnData.push({ name: field.name, data });
  });
  const kvMetadata = [...table.schema.metadata].map(([key, value]) => ({ key, value }));
  return new Uint8Array(
    parquetWriteBuffer({ columnData, schema, kvMetadata, createdBy: 'sparsebook (hyparquet-writer)' }),
  );
}

function mapColumn(field: Field, vector: Vector, optional: boolean): Mapped {
  const type = field.type as DataType;
  // Typed arrays cannot hold nulls: an OPTIONAL column goes as a plain array with null entries.
  const values = (dense: () => Data): Data => (optional ? [...vector] : dense());
  const int32 = () => Int32Array.from(vector.toArray() as ArrayLike<number>);
  const column = (element: Mapped['element'], data: Data): Mapped => ({ element, data });
  if (DataType.isFloat(type)) {
    if (type.precision === Precision.SINGLE) {
      return column(
        { type: 'FLOAT' },
        values(() => Float32Array.from(vector.toArray() as ArrayLike<number>)),
      );
    }
    if (type.precision === Precision.DOUBLE) {
      return column(
        { type: 'DOUBLE' },
        values(() => Float64Array.from(vector.toArray() as ArrayLike<number>)),
      );
    }
  } else if (DataType.isInt(type)) {
    const { isSigned, bitWidth } = type;
    if (isSigned && bitWidth === 32) return column({ type: 'INT32' }, values(int32));
    if (isSigned && bitWidth === 16)
      return column({ type: 'INT32', converted_type: 'INT_16' }, values(int32));
    if (isSigned && bitWidth === 8) return column({ type: 'INT32', converted_type: 'INT_8' }, values(int32));
    if (!isSigned && bitWidth === 8)
      return column({ type: 'INT32', converted_type: 'UINT_8' }, values(int32));
    if (isSigned && bitWidth === 64) {
      return column(
        { type: 'INT64' },
        values(() => BigInt64Array.from(vector.toArray() as ArrayLike<bigint>)),
      );
    }
  } else if (DataType.isUtf8(type)) {
    return column({ type: 'BYTE_ARRAY', converted_type: 'UTF8' }, [...vector]);
  } else if (DataType.isBool(type)) {
    return column({ type: 'BOOLEAN' }, [...vector]);
  }
  throw new Error(
    `column "${field.name}" has Arrow type ${String(type)}, which Parquet export does not support (supported: ${SUPPORTED})`,
  );
}
