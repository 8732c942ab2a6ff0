/**
 * Plain data of hub loads crossing the runtime worker boundary (workers/hub-load.ts runs them),
 * and the id spelling both sides share. Types and one string function: the page may import it.
 */
import type { HubLoadedFile, HubLoadProgress } from '../runtime/sources/hub-model';
import type { ModelHandle } from './runtime-types';

export type { HubLoadProgress, HubLoadedFile };

/** Load `hf:ORG/NAME[@REV]` (or `ORG/NAME[@REV]`) from a hub. */
export interface HubLoadRequest {
  /** Name the worker keeps the model under (see `LoadRequest.key`). */
  key?: string;
  /** `hf:ORG/NAME[@REV]`; the `hf:` may be left out. */
  id: string;
  /** The hub; default https://huggingface.co. */
  endpoint?: string;
  /** Access token for gated repositories: a request header only, never stored or returned. */
  token?: string;
  /** Bytes the weights may take on the backend (default: half of the device's memory). */
  budgetBytes?: number;
  /** Keep the files in the browser's cache and read them from it (default true where possible). */
  cache?: boolean;
}

/** What a hub load returns: a loaded model plus where its files came from. */
export interface HubModelHandle extends ModelHandle {
  hub: {
    /** `hf:ORG/NAME[@REV]`. */
    id: string;
    repo: string;
    revision: string;
    files: HubLoadedFile[];
    notes: string[];
    weightBytes: number;
    downloadedBytes: number;
  };
}

/** `ORG/NAME[@REV]` or `hf:ORG/NAME[@REV]` as a hub id. */
export function normalizeHubId(id: string): string {
  const s = id.trim();
  return s.startsWith('hf:') ? s : `hf:${s}`;
}
