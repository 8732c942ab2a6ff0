/**
 * Weights that may be 16-bit (kernels/weight-dtype.ts) in the shaders that read them (matmul's b,
 * embedding's table). A 16-bit tensor is bound as `array<u32>`, two values to a word, element 2i
 * in the low half (little-endian, as uploaded); each shader's loader decodes it with core WGSL
 * only, so no `shader-f16` feature is needed:
 * - f16: `unpack2x16float` (exact: every half is a float32, subnormals included);
 * - bf16: the 16 bits shifted into the top of a float32's bits, then `bitcast`.
 * The shader writes the three bindings and loaders under `// #if NAME_F32`, `NAME_F16`,
 * `NAME_BF16`; `weightFlags` picks one (`specialize`).
 */
import type { FloatDType } from './tensor';

/**
 * The `specialize` flags selecting a weight's binding and loader.
 *
 * @example
 * weightFlags('B', 'bf16'); // { B_F32: false, B_F16: false, B_BF16: true }
 */
export function weightFlags(name: string, dtype: FloatDType): Record<string, boolean> {
  return {
    [`${name}_F32`]: dtype === 'f32',
    [`${name}_F16`]: dtype === 'f16',
    [`${name}_BF16`]: dtype === 'bf16',
  };
}
