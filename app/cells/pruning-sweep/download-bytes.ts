/** An HF folder (config.json + model.safetensors) packed for one download. */
import { strToU8 } from 'fflate';
import { folderZip } from '../../state/download';

export { downloadBytes } from '../../state/download';

/** A zip of an HF folder's two files. */
export function hfZip(configJson: string, safetensors: Uint8Array): Uint8Array {
  return folderZip({ 'config.json': strToU8(configJson), 'model.safetensors': safetensors });
}
