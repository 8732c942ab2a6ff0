/**
 * WGSL for reading weights that may be 16-bit (kernels/weight-dtype.ts), shared by the shaders
 * that read weights (matmul's b, embedding's table). A 16-bit tensor is bound as `array<u32>`,
 * two values to a word, element 2i in the low half (little-endian, as uploaded); it is decoded
 * with core WGSL only, so no `shader-f16` feature is needed:
 * - f16: `unpack2x16float` (exact: every half is a float32, subnormals included);
 * - bf16: the 16 bits shifted into the top of a float32's bits, then `bitcast`.
 */
import type { FloatDType } from './tensor';

/** The element type of the storage array a weight of `dtype` is bound as. */
export function weightElement(dtype: FloatDType): 'f32' | 'u32' {
  return dtype === 'f32' ? 'f32' : 'u32';
}

/** `fn name(i: u32) -> f32`: element i of `array`, a weight of `dtype`, as float32. */
export function weightLoadFn(name: string, array: string, dtype: FloatDType): string {
  switch (dtype) {
    case 'f32':
      return `fn ${name}(i: u32) -> f32 { return ${array}[i]; }`;
    case 'f16':
      return `fn ${name}(i: u32) -> f32 { return unpack2x16float(${array}[i >> 1u])[i & 1u]; }`;
    case 'bf16':
      return [
        `fn ${name}(i: u32) -> f32 {`,
        `  let w = ${array}[i >> 1u];`,
        `  return bitcast<f32>(select(w << 16u, w & 0xffff0000u, (i & 1u) == 1u));`,
        `}`,
      ].join('\n');
  }
}

/**
 * Put a weight's element type and loader into a shader: `{{NAME_TYPE}}` becomes its array
 * element type and the line `// {{NAME_LOAD}}` its loader `fnName`.
 */
export function withWeight(code: string, placeholder: string, fnName: string, array: string, dtype: FloatDType): string {
  const load = `// {{${placeholder}_LOAD}}`;
  const type = `{{${placeholder}_TYPE}}`;
  if (!code.includes(load) || !code.includes(type))
    throw new Error(`withWeight: the shader has no ${type} / ${load} placeholder`);
  return code.replaceAll(type, weightElement(dtype)).replace(load, weightLoadFn(fnName, array, dtype));
}
