/**
 * Routing interventions of a sparse MoE forward pass: disable experts, force a different top-k,
 * change the router temperature, add a per-expert selection bias. They are options of
 * `LlamaModel.forward`, validated up front with messages that name the layer and the field, and
 * resolved here into the per-layer options of the `moeRoute` kernel.
 */
import type { MoeRouteOptions } from '../../kernels/backend';
import type { LlamaConfig } from './llama-config';

/** Routing changes for one layer, or for every layer (see `MoeInterventions`). */
export interface MoeIntervention {
  /** Experts that may not be chosen: their router logits count as −∞ (they get no tokens). */
  disabledExperts?: readonly number[];
  /** Route every token to this many experts instead of `config.moe.topK` (1..nExperts). */
  forceTopK?: number;
  /** Divide the router logits by this before the softmax (> 0; above 1 flattens, below sharpens). */
  routerTemperature?: number;
  /**
   * [nExperts] bias added to the router probabilities when choosing experts, not to the gate
   * weights (auxiliary-loss-free balancing: a positive bias draws tokens to an expert).
   */
  expertBias?: Float32Array | readonly number[];
  /** Override `config.moe.normTopKProb` (renormalise the chosen gates to sum to 1). */
  normTopKProb?: boolean;
}

/**
 * Routing interventions of a forward pass: the fields apply to every MoE layer; `layers[l]`
 * overrides them field by field for layer l.
 *
 * @example
 * await model.forward(tokens, {
 *   moe: { disabledExperts: [3], layers: { 0: { forceTopK: 8, routerTemperature: 2 } } },
 * });
 */
export interface MoeInterventions extends MoeIntervention {
  layers?: Readonly<Record<number, MoeIntervention>>;
}

/** Thrown for an invalid routing intervention (before anything runs). */
export class MoeInterventionError extends RangeError {
  override name = 'MoeInterventionError';
}

const FIELDS: readonly (keyof MoeIntervention)[] = [
  'disabledExperts',
  'forceTopK',
  'routerTemperature',
  'expertBias',
  'normTopKProb',
];

/**
 * The `moeRoute` options of every layer: the config's routing with the interventions applied, or
 * null for a dense model without interventions.
 *
 * @example
 * resolveMoeRouting(config, { forceTopK: 1 })[0]; // { topK: 1, normTopKProb: true, temperature: 1, … }
 * @throws MoeInterventionError for a dense model, an unknown field or layer, an expert index outside
 *   [0, nExperts), topK outside [1, nExperts] or above the enabled experts, temperature ≤ 0, or a
 *   bias whose length is not nExperts.
 */
export function resolveMoeRouting(
  config: LlamaConfig,
  interventions: MoeInterventions | undefined,
): MoeRouteOptions[] | null {
  const moe = config.moe;
  if (!moe) {
    if (interventions !== undefined) {
      throw new MoeInterventionError(
        'moe interventions were given, but this is a dense model (no MoE layers)',
      );
    }
    return null;
  }
  const iv = interventions ?? {};
  checkFields(iv, 'moe', [...FIELDS, 'layers']);
  const perLayer = iv.layers ?? {};
  for (const key of Object.keys(perLayer)) {
    const l = Number(key);
    if (!Number.isInteger(l) || l < 0 || l >= config.nLayers || String(l) !== key) {
      throw new MoeInterventionError(
        `moe.layers: "${key}" is not a layer index (the model has ${config.nLayers} layers)`,
      );
    }
    checkFields(perLayer[l]!, `moe.layers[${l}]`, FIELDS);
  }
  return Array.from({ length: config.nLayers }, (_, l) => {
    const own = perLayer[l] ?? {};
    const pick = <K extends keyof MoeIntervention>(k: K): MoeIntervention[K] =>
      own[k] !== undefined ? own[k] : iv[k];
    const where = (k: keyof MoeIntervention) => (own[k] !== undefined ? `moe.layers[${l}].${k}` : `moe.${k}`);
    const E = moe.nExperts;

    const disabled = pick('disabledExperts') ?? [];
    if (!Array.isArray(disabled))
      throw new MoeInterventionError(`${where('disabledExperts')} must be an array`);
    for (const e of disabled) {
      if (!Number.isInteger(e) || e < 0 || e >= E) {
        throw new MoeInterventionError(
          `${where('disabledExperts')}: unknown expert ${e} (experts are 0..${E - 1})`,
        );
      }
    }
    const topK = pick('forceTopK') ?? moe.topK;
    if (!Number.isInteger(topK) || topK < 1 || topK > E) {
      throw new MoeInterventionError(`${where('forceTopK')} = ${topK} must be an integer in [1, ${E}]`);
    }
    const enabled = E - new Set(disabled).size;
    if (topK > enabled) {
      throw new MoeInterventionError(
        `layer ${l}: top-${topK} routing needs ${topK} experts, but ${E - enabled} of ${E} are disabled`,
      );
    }
    const temperature = pick('routerTemperature') ?? 1;
    if (typeof temperature !== 'number' || !(temperature > 0) || !Number.isFinite(temperature)) {
      throw new MoeInterventionError(
        `${where('routerTemperature')} = ${temperature} must be a finite number > 0`,
      );
    }
    const bias = pick('expertBias');
    if (bias !== undefined) {
      if (bias.length !== E) {
        throw new MoeInterventionError(
          `${where('expertBias')} has ${bias.length} entries; the model has ${E} experts`,
        );
      }
      const bad = Array.from(bias).findIndex((v) => !Number.isFinite(v));
      if (bad >= 0)
        throw new MoeInterventionError(`${where('expertBias')}[${bad}] = ${bias[bad]} is not finite`);
    }
    const normTopKProb = pick('normTopKProb') ?? moe.normTopKProb;
    return { topK, normTopKProb, temperature, disabled, ...(bias ? { bias } : {}) };
  });
}

/** Unknown fields fail loudly: a misspelt intervention must not silently do nothing. */
function checkFields(o: object, what: string, allowed: readonly string[]): void {
  if (typeof o !== 'object' || o === null) throw new MoeInterventionError(`${what} must be an object`);
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) {
      throw new MoeInterventionError(`${what}: unknown field "${k}" (expected one of ${allowed.join(', ')})`);
    }
  }
}
