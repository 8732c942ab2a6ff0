/** An HF folder (config.json + model.safetensors) packed for one download. */
import { strToU8, zipSync } from 'fflate';

export { downloadBytes } from '../../state/download';

/** A zip (stored, not deflated: safetensors barely compress) of an HF folder's two files. */
export function hfZip(configJson: string, safetensors: Uint8Array): Uint8Array {
  return zipSync({ 'config.json': strToU8(configJson), 'model.safetensors': safetensors }, { level: 0 });
}
