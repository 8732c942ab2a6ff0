import type { RowAffineOptions } from './backend';
import type { Tensor } from './tensor';
import { cpu, f32, rowsCols } from './cpu-tensor';
import { sameShape } from './shapes';

export function checkRowAffine(x: Tensor<'f32'>, o: RowAffineOptions): [rows: number, cols: number] {
  const [rows, cols] = rowsCols(x.shape);
  if (o.bias && o.bias.size !== cols) {
    throw new Error(`rowAffine: bias has ${o.bias.size} values, rows have ${cols}`);
  }
  if (o.minus) sameShape(x.shape, o.minus.shape, 'rowAffine');
  return [rows, cols];
}

/** Reference of `rowAffine`: scale·(x + biasScale·bias[col] − minus), one float64 expression. */
export function rowAffineCpu(x: Tensor<'f32'>, o: RowAffineOptions = {}): Tensor<'f32'> {
  const [rows, cols] = checkRowAffine(x, o);
  const X = cpu(x).data;
  const B = o.bias ? cpu(o.bias).data : undefined;
  const M = o.minus ? cpu(o.minus).data : undefined;
  const s = o.scale ?? 1;
  const bs = o.biasScale ?? 1;
  const out = new Float32Array(X.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const t = r * cols + c;
      out[t] = s * (X[t]! + (B ? bs * B[c]! : 0) - (M ? M[t]! : 0));
    }
  }
  return f32(out, x.shape);
}
