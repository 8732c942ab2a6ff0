/**
 * Command-line forms of the MoE routing interventions (`runtime/model/moe-interventions.ts`),
 * shared by `sparsebook eval`, `moe-stats` and `moe-balance`:
 *
 *   --disable-expert L:E[,L:E…]   expert E of layer L gets no tokens (repeatable; `*:E` = every layer)
 *   --force-top-k K | L:K         route to K experts (every layer, or layer L; repeatable)
 *   --router-temperature T | L:T  divide the router logits by T before the softmax
 *   --expert-bias b0,b1,… | L:b0,b1,…  add b_e to expert e's probability when choosing
 *
 * The values are checked against the model when the first forward pass resolves them, with
 * messages that name the layer and the field.
 */
import type { MoeIntervention, MoeInterventions } from '../runtime/model/moe-interventions';
import { parseDisabledExperts } from '../analyses/moe/catalogue';
import { UsageError } from './args';

export const MOE_INTERVENTION_FLAGS = {
  'disable-expert': { type: 'string', multiple: true },
  'force-top-k': { type: 'string', multiple: true },
  'router-temperature': { type: 'string', multiple: true },
  'expert-bias': { type: 'string', multiple: true },
} as const;

export const MOE_INTERVENTION_USAGE = `Routing interventions (MoE models):
  --disable-expert L:E[,L:E…]        expert E of layer L gets no tokens (*:E = every layer)
  --force-top-k K | L:K              route every token to K experts
  --router-temperature T | L:T       divide the router logits by T before the softmax
  --expert-bias b0,b1,… | L:b0,b1,…  add b_e to expert e's probability when choosing experts`;

type Flags = Partial<Record<keyof typeof MOE_INTERVENTION_FLAGS, string[]>>;

/**
 * The interventions the flags ask for, or undefined when none is given.
 *
 * @example
 * moeInterventionFlags({ 'disable-expert': ['0:3,1:3'] }); // { layers: { 0: { disabledExperts: [3] }, 1: … } }
 */
export function moeInterventionFlags(flags: Flags): MoeInterventions | undefined {
  const all: MoeIntervention = {};
  const layers: Record<number, MoeIntervention> = {};
  const at = (layer: number | null): MoeIntervention => (layer === null ? all : (layers[layer] ??= {}));
  let any = false;
  for (const spec of flags['disable-expert'] ?? []) {
    let parsed: ReturnType<typeof parseDisabledExperts>;
    try {
      parsed = parseDisabledExperts(spec);
    } catch (e) {
      throw new UsageError(`--disable-expert: ${(e as Error).message}`);
    }
    if (parsed.all.length) all.disabledExperts = [...(all.disabledExperts ?? []), ...parsed.all];
    for (const [l, experts] of Object.entries(parsed.layers)) {
      const target = at(Number(l));
      target.disabledExperts = [...(target.disabledExperts ?? []), ...experts];
    }
    any = true;
  }
  for (const spec of flags['force-top-k'] ?? []) {
    const { layer, value } = layered(spec, 'force-top-k');
    const k = Number(value);
    if (!Number.isInteger(k)) throw new UsageError(`--force-top-k wants an integer, got '${spec}'`);
    at(layer).forceTopK = k;
    any = true;
  }
  for (const spec of flags['router-temperature'] ?? []) {
    const { layer, value } = layered(spec, 'router-temperature');
    const t = Number(value);
    if (!Number.isFinite(t)) throw new UsageError(`--router-temperature wants a number, got '${spec}'`);
    at(layer).routerTemperature = t;
    any = true;
  }
  for (const spec of flags['expert-bias'] ?? []) {
    const { layer, value } = layered(spec, 'expert-bias');
    const bias = value.split(',').map(Number);
    if (bias.some((b) => !Number.isFinite(b)))
      throw new UsageError(`--expert-bias wants numbers b0,b1,…, got '${spec}'`);
    at(layer).expertBias = bias;
    any = true;
  }
  if (!any) return undefined;
  return Object.keys(layers).length > 0 ? { ...all, layers } : all;
}

function layered(spec: string, flag: string): { layer: number | null; value: string } {
  const m = /^(\d+):(.+)$/.exec(spec.trim());
  if (m) return { layer: Number(m[1]), value: m[2]! };
  if (spec.trim() === '') throw new UsageError(`--${flag} needs a value`);
  return { layer: null, value: spec.trim() };
}
