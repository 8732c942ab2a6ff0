/**
 * The Hugging Face hub settings of this browser: the endpoint (HF_ENDPOINT's role, default
 * https://huggingface.co) and an access token for gated models. Both live in localStorage only:
 * never in a notebook, its autosave, a share link, a report or a message. A notebook records the
 * model as its hub id; whoever opens it uses their own token.
 */
import { DEFAULT_HF_ENDPOINT } from '../../runtime/sources/hub-id';

const ENDPOINT_KEY = 'sparsebook.hub.endpoint';
const TOKEN_KEY = 'sparsebook.hub.token';

export interface HubSettings {
  endpoint: string;
  /** '' when none. */
  token: string;
}

function storage(): Storage | undefined {
  try {
    return globalThis.localStorage;
  } catch {
    return undefined; // storage blocked (an opaque origin, a sandboxed report)
  }
}

/** The endpoint and token as stored (the default endpoint when none). */
export function readHubSettings(): HubSettings {
  const s = storage();
  return {
    endpoint: s?.getItem(ENDPOINT_KEY) || DEFAULT_HF_ENDPOINT,
    token: s?.getItem(TOKEN_KEY) ?? '',
  };
}

/** Store the endpoint ('' or the default removes it). */
export function writeHubEndpoint(endpoint: string): void {
  const v = endpoint.trim().replace(/\/+$/, '');
  if (!v || v === DEFAULT_HF_ENDPOINT) storage()?.removeItem(ENDPOINT_KEY);
  else storage()?.setItem(ENDPOINT_KEY, v);
}

/** Store the access token ('' removes it). */
export function writeHubToken(token: string): void {
  const v = token.trim();
  if (!v) storage()?.removeItem(TOKEN_KEY);
  else storage()?.setItem(TOKEN_KEY, v);
}

/** Whether `endpoint` is an http(s) URL. */
export function validEndpoint(endpoint: string): boolean {
  try {
    const u = new URL(endpoint);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}
