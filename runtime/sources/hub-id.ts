/**
 * Hugging Face hub ids as users write them: `hf:ORG/NAME[@REVISION][/PATH]` (a model, or a file or
 * folder inside a repository, e.g. an SAE), and the URLs the hub serves them at,
 * `{HF_ENDPOINT}/{ORG/NAME}/resolve/{REVISION}/{FILE}` as in Hugging Face's own clients.
 */
import { InputError } from '../errors';

/** The hub Hugging Face's clients use when HF_ENDPOINT is not set. */
export const DEFAULT_HF_ENDPOINT = 'https://huggingface.co';

export interface HubId {
  /** `ORG/NAME`. */
  repo: string;
  /** Branch, tag or commit; `main` when not given (a revision cannot contain '/': it ends at the next one). */
  revision: string;
  /** A path inside the repository ('' for the repository root). */
  path: string;
}

/** Thrown for a malformed hub id; `file` is the id as given. */
export class HubIdError extends InputError {
  override name = 'HubIdError';
  constructor(id: string, problem: string) {
    super(id, problem, 'model-format');
  }
}

const PART = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Whether `s` is written as a hub id (`hf:…`). */
export function isHubId(s: string): boolean {
  return s.startsWith('hf:');
}

/**
 * Parse `hf:ORG/NAME[@REVISION][/PATH]`.
 *
 * @example
 * parseHubId('hf:google/gemma-scope-2b-pt-res/layer_20/width_16k/average_l0_71');
 * // { repo: 'google/gemma-scope-2b-pt-res', revision: 'main', path: 'layer_20/width_16k/average_l0_71' }
 * parseHubId('hf:openai-community/gpt2@607a30d'); // revision '607a30d'
 * @throws HubIdError naming the id for anything else.
 */
export function parseHubId(id: string): HubId {
  const fail = (problem: string): never => {
    throw new HubIdError(id, `${problem}; expected hf:ORG/NAME[@REVISION][/PATH]`);
  };
  if (!isHubId(id)) fail('not a hub id (it must start with "hf:")');
  const parts = id.slice(3).split('/');
  if (parts.length < 2) fail('missing the repository name');
  const org = parts[0]!;
  let [name, revision] = [parts[1]!, 'main'];
  const at = name.indexOf('@');
  if (at >= 0) [name, revision] = [name.slice(0, at), name.slice(at + 1)];
  if (!PART.test(org) || !PART.test(name)) fail(`"${org}/${name}" is not a repository id`);
  if (!/^[A-Za-z0-9._-]+$/.test(revision) || revision.includes('..')) fail(`"${revision}" is not a revision`);
  const rest = parts.slice(2);
  if (rest.some((p) => p === '' || p === '.' || p === '..')) fail('the path has an empty, "." or ".." part');
  return { repo: `${org}/${name}`, revision, path: rest.join('/') };
}

/** `hf:ORG/NAME@REVISION/PATH`, the canonical spelling (for cache keys and messages). */
export function formatHubId(h: HubId): string {
  return `hf:${h.repo}${h.revision === 'main' ? '' : `@${h.revision}`}${h.path ? `/${h.path}` : ''}`;
}

/**
 * The URL of `file` (relative to the id's path) in the repository.
 *
 * @example
 * hubFileUrl('https://huggingface.co', parseHubId('hf:openai-community/gpt2'), 'config.json');
 * // 'https://huggingface.co/openai-community/gpt2/resolve/main/config.json'
 */
export function hubFileUrl(endpoint: string, h: HubId, file: string): string {
  const full = h.path ? `${h.path}/${file}` : file;
  const encoded = full.split('/').map(encodeURIComponent).join('/');
  return `${endpoint.replace(/\/+$/, '')}/${h.repo}/resolve/${encodeURIComponent(h.revision)}/${encoded}`;
}
