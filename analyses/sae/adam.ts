/**
 * Adam (Kingma & Ba 2015) with bias correction over named float32 tensors, the optimiser SAELens
 * and the OpenAI TopK paper use. Moments are float32 like the parameters (what a WebGPU mirror
 * stores); each element's update is computed in float64 and rounded once, in a fixed order, so a
 * run is bit-for-bit deterministic.
 */

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

/**
 * @example
 * const adam = new Adam({ w }, { lr: 1e-3 });
 * adam.step({ w: gradW }); // updates w in place
 */
export class Adam {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  /** Steps taken so far. */
  t = 0;
  private readonly m = new Map<string, Float32Array>();
  private readonly v = new Map<string, Float32Array>();

  constructor(
    private readonly params: Readonly<Record<string, Float32Array | undefined>>,
    opts: AdamOptions,
  ) {
    this.lr = opts.lr;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    if (!(this.lr > 0)) throw new Error(`invalid Adam lr: ${this.lr}`);
    for (const [name, b] of [
      ['beta1', this.beta1],
      ['beta2', this.beta2],
    ] as const) {
      if (!(b >= 0 && b < 1)) throw new Error(`invalid Adam ${name}: ${b} (expected 0 ≤ β < 1)`);
    }
    for (const [name, p] of Object.entries(params)) {
      if (!p) continue;
      this.m.set(name, new Float32Array(p.length));
      this.v.set(name, new Float32Array(p.length));
    }
  }

  /** First and second moments of a tensor (for checkpoints and tests). */
  moments(name: string): { m: Float32Array; v: Float32Array } | undefined {
    const m = this.m.get(name);
    const v = this.v.get(name);
    return m && v ? { m, v } : undefined;
  }

  /** One update of every parameter that has a gradient; parameters change in place. */
  step(grads: Readonly<Record<string, Float32Array | undefined>>): void {
    this.t++;
    const { beta1: b1, beta2: b2, eps, lr } = this;
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    for (const [name, p] of Object.entries(this.params)) {
      const g = grads[name];
      if (!p || !g) continue;
      if (g.length !== p.length) {
        throw new Error(`Adam: gradient "${name}" has ${g.length} values, parameter has ${p.length}`);
      }
      const m = this.m.get(name)!;
      const v = this.v.get(name)!;
      for (let i = 0; i < p.length; i++) {
        const gi = g[i]!;
        const mi = b1 * m[i]! + (1 - b1) * gi;
        const vi = b2 * v[i]! + (1 - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i]! - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + eps);
      }
    }
  }
}
