/**
 * Models that ship with Sparsebook (public/models/, built by tools/bundled-models): HF-style folders
 * served next to the app, so the workbench opens on a real model with no network and no file picking.
 */

export interface BundledModel {
  /** Folder name under public/models/. */
  id: string;
  label: string;
  files: readonly string[];
}

const HF_FILES = ['config.json', 'model.safetensors', 'tokenizer.bin'] as const;

export const BUNDLED_MODELS: readonly BundledModel[] = [
  { id: 'sparsebook-dense', label: 'Sparsebook dense (Llama)', files: HF_FILES },
  { id: 'sparsebook-moe-global', label: 'Sparsebook MoE, global-batch balancing', files: HF_FILES },
  { id: 'sparsebook-moe-micro', label: 'Sparsebook MoE, micro-batch balancing', files: HF_FILES },
];

/** The model a new notebook opens with. */
export const DEFAULT_BUNDLED = 'sparsebook-dense';

/**
 * URL of a bundled file relative to the app (works from any base path). The guarded default also
 * works where `import.meta.env` is absent (plain Node: `sparsebook report` maps it to public/).
 */
export function bundledUrl(
  id: string,
  file: string,
  base: string = (import.meta as { env?: { BASE_URL?: string } }).env?.BASE_URL ?? './',
): string {
  return `${base.replace(/\/?$/, '/')}models/${encodeURIComponent(id)}/${encodeURIComponent(file)}`;
}
