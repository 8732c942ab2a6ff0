/**
 * llama2.c's random generator (run.c `random_u32` / `random_f32`): xorshift64* with a 64-bit
 * state. Reimplemented bit for bit (BigInt, one call per sampled token) so that a seed here gives
 * the same coin flips as `run -s SEED`.
 */

const MASK64 = (1n << 64n) - 1n;
const MULTIPLIER = 0x2545f4914f6cdd1dn;

/** Seeded xorshift64* generator. */
export class XorShiftRng {
  private state: bigint;

  /**
   * @param seed a positive integer (run.c's `rng_seed`); 0 is refused because xorshift stays at 0
   *   forever (run.c replaces 0 with the clock, which is not reproducible).
   */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed <= 0) {
      throw new RangeError(`seed must be a positive integer, got ${seed}`);
    }
    this.state = BigInt(seed) & MASK64;
  }

  /** Next uint32, as run.c `random_u32`. */
  nextU32(): number {
    let s = this.state;
    s ^= s >> 12n;
    s = (s ^ (s << 25n)) & MASK64;
    s ^= s >> 27n;
    this.state = s;
    return Number(((s * MULTIPLIER) & MASK64) >> 32n);
  }

  /** Next float in [0, 1) with 24 random bits, as run.c `random_f32`. */
  nextF32(): number {
    return (this.nextU32() >>> 8) / 16777216;
  }
}
