// AssemblyScript (compiled by scripts/wasm-build.mjs): helpers the kernels share.

/**
 * a · b + c on four lanes: one fused multiply-add where relaxed SIMD is enabled (the
 * `--enable relaxed-simd` build: x64 vfmadd, arm64 fmla), else a multiply and an add.
 */
// @ts-ignore: decorator
@inline
export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}
