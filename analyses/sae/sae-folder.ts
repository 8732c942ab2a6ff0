/**
 * Where a pretrained SAE's files are in a hub repository: `hf:ORG/NAME[@REV]/PATH` names a folder
 * (SAELens cfg.json + sae_weights.safetensors, sparsify cfg.json + sae.safetensors, Gemma Scope
 * params.npz, Gemma Scope 2 params.safetensors [+ config.json]) or one of those files. The CLI's
 * cache (cli/hub-cache.ts) and the browser's loader (workers/sae-hub.ts) look for them in this order.
 */
import type { HubId } from '../../runtime/sources/hub-id';

/** Config files, looked for first (a 404 means the format has none). */
export const SAE_CONFIG_FILES = ['cfg.json', 'config.json'] as const;
/** Weights that come with a cfg.json, then weights that come alone. */
const WEIGHTS_WITH_CFG = ['sae_weights.safetensors', 'sae.safetensors'] as const;
const WEIGHTS_ALONE = ['params.npz', 'params.safetensors'] as const;
const ALL: readonly string[] = [...SAE_CONFIG_FILES, ...WEIGHTS_WITH_CFG, ...WEIGHTS_ALONE];

/**
 * The folder an SAE hub id names, and the file it names in it (when its last part is one).
 *
 * @example
 * saeHubFolder(parseHubId('hf:google/gemma-scope-2b-pt-res/layer_20/width_16k/average_l0_71/params.npz'));
 * // { folder: { …, path: 'layer_20/width_16k/average_l0_71' }, named: 'params.npz' }
 */
export function saeHubFolder(id: HubId): { folder: HubId; named?: string } {
  const parts = id.path ? id.path.split('/') : [];
  const last = parts.at(-1) ?? '';
  const named = ALL.includes(last) ? last : undefined;
  const folder: HubId = { ...id, path: (named ? parts.slice(0, -1) : parts).join('/') };
  return named ? { folder, named } : { folder };
}

/**
 * The weights files to look for, in order: the one the id names (unless it is a config), else
 * those that come with a cfg.json when the folder has one, else those that come alone.
 */
export function saeWeightCandidates(named: string | undefined, hasCfg: boolean): readonly string[] {
  if (named && !(SAE_CONFIG_FILES as readonly string[]).includes(named)) return [named];
  return hasCfg ? WEIGHTS_WITH_CFG : WEIGHTS_ALONE;
}
