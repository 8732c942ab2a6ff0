/** Page URL parameters: `?model=URL&tokenizer=URL[&backend=cpu|webgpu][&prompt=…]`. */
import type { BackendKind } from '../../workers/runtime-types';

export interface PageParams {
  modelUrl?: string;
  tokenizerUrl?: string;
  backend?: BackendKind;
  prompt?: string;
}

export function parsePageParams(search: string): PageParams {
  const q = new URLSearchParams(search);
  const out: PageParams = {};
  const model = q.get('model')?.trim();
  const tokenizer = q.get('tokenizer')?.trim();
  if (model) out.modelUrl = model;
  if (tokenizer) out.tokenizerUrl = tokenizer;
  const backend = q.get('backend');
  if (backend === 'cpu' || backend === 'webgpu') out.backend = backend;
  const prompt = q.get('prompt');
  if (prompt !== null) out.prompt = prompt;
  return out;
}
