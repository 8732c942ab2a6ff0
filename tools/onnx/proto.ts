/**
 * ONNX models from JS: the messages a forward graph needs (ModelProto, GraphProto, NodeProto,
 * AttributeProto, TensorProto, ValueInfoProto and their parts), declared from onnx.proto's field
 * numbers as a protobufjs reflection schema and encoded by protobufjs. Python's `onnx` is not
 * installed here and the graphs are built from JS; onnxruntime-web parsing the result is the test.
 */
import protobuf from 'protobufjs';

/** ONNX TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT64: 7 } as const;

/** onnx.proto (proto2) field numbers; repeated scalars unpacked, as proto2 writes them. */
const repeated = (type: string, id: number) => ({ rule: 'repeated', type, id, options: { packed: false } });
const ONNX = protobuf.Root.fromJSON({
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            irVersion: { type: 'int64', id: 1 },
            producerName: { type: 'string', id: 2 },
            graph: { type: 'GraphProto', id: 7 },
            opsetImport: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
          },
        },
        OperatorSetIdProto: {
          fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } },
        },
        GraphProto: {
          fields: {
            node: { rule: 'repeated', type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: 'repeated', type: 'string', id: 1 },
            output: { rule: 'repeated', type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            opType: { type: 'string', id: 4 },
            attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
            floats: repeated('float', 7),
            ints: repeated('int64', 8),
            // AttributeProto.AttributeType
            type: { type: 'int32', id: 20 },
          },
        },
        TensorProto: {
          fields: {
            dims: repeated('int64', 1),
            dataType: { type: 'int32', id: 2 },
            name: { type: 'string', id: 8 },
            rawData: { type: 'bytes', id: 9 },
          },
        },
        ValueInfoProto: { fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 } } },
        TypeProto: {
          fields: { tensorType: { type: 'Tensor', id: 1 } },
          nested: {
            Tensor: {
              fields: { elemType: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } },
            },
          },
        },
        TensorShapeProto: {
          fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } },
          nested: {
            Dimension: {
              fields: { dimValue: { type: 'int64', id: 1 }, dimParam: { type: 'string', id: 2 } },
            },
          },
        },
      },
    },
  },
});
const ModelProto = ONNX.lookupType('onnx.ModelProto');

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

function attribute(name: string, a: Attribute): object {
  if (typeof a === 'number') {
    if (!Number.isInteger(a)) throw new Error(`attribute ${name}: ${a} is not an integer (use { float })`);
    return { name, i: a, type: ATTR_INT };
  }
  if (Array.isArray(a)) return { name, ints: a, type: ATTR_INTS };
  if ('float' in a) return { name, f: a.float, type: ATTR_FLOAT };
  return { name, floats: a.floats, type: ATTR_FLOATS };
}

function tensor(t: TensorSpec): object {
  return {
    dims: t.dims,
    dataType: t.type,
    name: t.name,
    rawData: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
  };
}

function valueInfo(v: ValueSpec): object {
  const dim = v.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name: v.name, type: { tensorType: { elemType: v.type, shape: { dim } } } };
}

/** A ModelProto (IR version 8, default-domain opset `opset`) holding `graph`. */
export function encodeModel(graph: GraphSpec, opset = 17): Uint8Array {
  const model = {
    irVersion: 8,
    producerName: 'sparsebook tools/onnx',
    opsetImport: [{ domain: '', version: opset }],
    graph: {
      node: graph.nodes.map((n) => ({
        input: n.inputs,
        output: n.outputs,
        name: n.name,
        opType: n.op,
        attribute: Object.entries(n.attributes ?? {}).map(([k, a]) => attribute(k, a)),
      })),
      name: graph.name,
      initializer: graph.initializers.map(tensor),
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
    },
  };
  const problem = ModelProto.verify(model);
  if (problem) throw new Error(`ONNX model ${graph.name}: ${problem}`);
  return ModelProto.encode(ModelProto.create(model)).finish();
}
