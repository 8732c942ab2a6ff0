/**
 * A minimal ONNX protobuf writer: just the messages a forward graph needs (ModelProto, GraphProto,
 * NodeProto, AttributeProto, TensorProto, ValueInfoProto), encoded by hand from onnx.proto's field
 * numbers. Python's `onnx` is not installed here and the graphs are built from JS, so this stays
 * dependency-free; onnxruntime-web parsing the result is its test.
 */

/** ONNX TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT64: 7 } as const;

class Writer {
  private chunks: Uint8Array[] = [];
  private size = 0;

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.size += bytes.length;
  }

  varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    const out: number[] = [];
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    this.push(Uint8Array.from(out));
  }

  tag(field: number, wire: 0 | 2 | 5): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, value: number | bigint): void {
    this.tag(field, 0);
    this.varint(value);
  }

  float(field: number, value: number): void {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
  }

  bytes(field: number, value: Uint8Array): void {
    this.tag(field, 2);
    this.varint(value.length);
    this.push(value);
  }

  string(field: number, value: string): void {
    this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, build: (w: Writer) => void): void {
    const inner = new Writer();
    build(inner);
    this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

export type Attribute = number | number[] | { floats: number[] } | { float: number };

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  name: string;
  attributes?: Record<string, Attribute>;
}

export interface TensorSpec {
  name: string;
  dims: number[];
  type: (typeof DataType)[keyof typeof DataType];
  /** Little-endian raw data: Float32Array for FLOAT, BigInt64Array for INT64. */
  data: Float32Array | BigInt64Array;
}

export interface ValueSpec {
  name: string;
  type: (typeof DataType)[keyof typeof DataType];
  /** Numbers are fixed sizes; strings are symbolic dimensions. */
  dims: (number | string)[];
}

export interface GraphSpec {
  name: string;
  nodes: NodeSpec[];
  initializers: TensorSpec[];
  inputs: ValueSpec[];
  outputs: ValueSpec[];
}

// AttributeProto.AttributeType
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_FLOATS = 6;
const ATTR_INTS = 7;

function writeAttribute(w: Writer, name: string, a: Attribute): void {
  w.string(1, name);
  if (typeof a === 'number') {
    if (!Number.isInteger(a)) throw new Error(`attribute ${name}: ${a} is not an integer (use { float })`);
    w.int(3, a);
    w.int(20, ATTR_INT);
  } else if (Array.isArray(a)) {
    for (const v of a) w.int(8, v);
    w.int(20, ATTR_INTS);
  } else if ('float' in a) {
    w.float(2, a.float);
    w.int(20, ATTR_FLOAT);
  } else {
    for (const v of a.floats) w.float(7, v);
    w.int(20, ATTR_FLOATS);
  }
}

function writeTensor(w: Writer, t: TensorSpec): void {
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.type);
  w.string(8, t.name);
  w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

function writeValueInfo(w: Writer, v: ValueSpec): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, v.type);
      tensor.message(2, (shape) => {
        for (const d of v.dims)
          shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}

/** A ModelProto (IR version 8, default-domain opset `opset`) holding `graph`. */
export function encodeModel(graph: GraphSpec, opset = 17): Uint8Array {
  const w = new Writer();
  w.int(1, 8); // ir_version
  w.string(2, 'sparsebook tools/onnx');
  w.message(8, (o) => {
    o.string(1, '');
    o.int(2, opset);
  });
  w.message(7, (g) => {
    for (const n of graph.nodes)
      g.message(1, (node) => {
        for (const i of n.inputs) node.string(1, i);
        for (const o of n.outputs) node.string(2, o);
        node.string(3, n.name);
        node.string(4, n.op);
        for (const [k, a] of Object.entries(n.attributes ?? {}))
          node.message(5, (at) => writeAttribute(at, k, a));
      });
    g.string(2, graph.name);
    for (const t of graph.initializers) g.message(5, (tensor) => writeTensor(tensor, t));
    for (const v of graph.inputs) g.message(11, (vi) => writeValueInfo(vi, v));
    for (const v of graph.outputs) g.message(12, (vi) => writeValueInfo(vi, v));
  });
  return w.finish();
}
