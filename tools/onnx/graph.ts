/**
 * A small builder for forward graphs in standard ONNX ops (opset 17): each helper adds one node and
 * returns its output's name, so model files read like the math they encode.
 */
import { DataType, encodeModel, type Attribute, type NodeSpec, type TensorSpec } from './proto';

export class GraphBuilder {
  private nodes: NodeSpec[] = [];
  private initializers: TensorSpec[] = [];
  private count = 0;

  /** A float constant (weights, tables) of the given shape. */
  constant(name: string, dims: number[], data: Float32Array): string {
    const size = dims.reduce((a, b) => a * b, 1);
    if (data.length !== size) throw new Error(`${name}: ${data.length} values for shape [${dims}]`);
    this.initializers.push({ name, dims, type: DataType.FLOAT, data });
    return name;
  }

  /** An int64 constant: shapes, axes, slice bounds. */
  ints(values: number[]): string {
    const name = `i64_${this.count++}`;
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push({ name, dims: [values.length], type: DataType.INT64, data });
    return name;
  }

  scalar(value: number): string {
    return this.constant(`f32_${this.count++}`, [], Float32Array.of(value));
  }

  op(op: string, inputs: string[], attributes?: Record<string, Attribute>): string {
    const out = `${op.toLowerCase()}_${this.count++}`;
    this.nodes.push({ op, inputs, outputs: [out], name: out, ...(attributes ? { attributes } : {}) });
    return out;
  }

  add = (a: string, b: string) => this.op('Add', [a, b]);
  sub = (a: string, b: string) => this.op('Sub', [a, b]);
  mul = (a: string, b: string) => this.op('Mul', [a, b]);
  div = (a: string, b: string) => this.op('Div', [a, b]);
  matmul = (a: string, b: string) => this.op('MatMul', [a, b]);
  reshape = (x: string, shape: number[]) => this.op('Reshape', [x, this.ints(shape)]);
  transpose = (x: string, perm: number[]) => this.op('Transpose', [x], { perm });
  slice = (x: string, start: number, end: number, axis: number) =>
    this.op('Slice', [x, this.ints([start]), this.ints([end]), this.ints([axis])]);
  concat = (xs: string[], axis: number) => this.op('Concat', xs, { axis });
  mean = (x: string) => this.op('ReduceMean', [x], { axes: [-1], keepdims: 1 });

  /** x / sqrt(mean(x²) + eps) * w over the last axis. */
  rmsNorm(x: string, w: string, eps: number): string {
    const ms = this.mean(this.mul(x, x));
    return this.mul(this.div(x, this.op('Sqrt', [this.add(ms, this.scalar(eps))])), w);
  }

  /** (x − mean) / sqrt(var + eps) * w + b over the last axis. */
  layerNorm(x: string, w: string, b: string, eps: number): string {
    const c = this.sub(x, this.mean(x));
    const v = this.mean(this.mul(c, c));
    return this.add(this.mul(this.div(c, this.op('Sqrt', [this.add(v, this.scalar(eps))])), w), b);
  }

  /**
   * Causal attention of q [H, T, hd] over k, v [H, T, hd]: softmax(q kᵀ / √hd + mask) v, where
   * `mask` is an additive [T, T] constant (0 on and below the diagonal, −1e30 above).
   */
  causalAttention(q: string, k: string, v: string, headDim: number, mask: string): string {
    const scores = this.mul(
      this.matmul(q, this.transpose(k, [0, 2, 1])),
      this.scalar(1 / Math.sqrt(headDim)),
    );
    return this.matmul(this.op('Softmax', [this.add(scores, mask)], { axis: -1 }), v);
  }

  /** The model: `tokens` int64 [T] in, `logits` float [T, vocab] out. */
  encode(name: string, output: string, tokens: number, vocab: number): Uint8Array {
    this.nodes.push({ op: 'Identity', inputs: [output], outputs: ['logits'], name: 'logits' });
    return encodeModel({
      name,
      nodes: this.nodes,
      initializers: this.initializers,
      inputs: [{ name: 'tokens', type: DataType.INT64, dims: [tokens] }],
      outputs: [{ name: 'logits', type: DataType.FLOAT, dims: [tokens, vocab] }],
    });
  }
}

/** The additive causal mask [T, T]. */
export function causalMask(t: number): Float32Array {
  const m = new Float32Array(t * t);
  for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) m[i * t + j] = -1e30;
  return m;
}

/** W [rows, cols] row-major → Wᵀ [cols, rows]: ONNX MatMul computes x W, torch Linear x Wᵀ. */
export function transposed(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c]!;
  return out;
}
