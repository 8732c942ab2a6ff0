/**
 * MoE routing cell: routes the bundled per-domain validation corpus (literature, speeches, email,
 * code) through a mixture-of-experts model and shows, per layer, the domain × expert usage, the
 * expert load against uniform, the router entropy and the specialisation score (METHODS.md,
 * "Specialisation"; workers/moe-jobs.ts).
 *
 * `maxTokens` (per domain) decides what is computed; `layer` and `view` are view-only params: saved,
 * shared and undoable, but out of the cell's key, so switching layer or heatmap never re-runs.
 */
import { MAX_MOE_TOKENS, type ModelHandle } from '../../../workers/runtime-types';
import type { Json } from '../../notebook/cell-runtime';
import type { CellKind } from '../cell-kind';

/** The domains of the bundled corpus, in display order (public/models/corpus/valid-<domain>.txt). */
export const MOE_DOMAINS = ['literature', 'speeches', 'email', 'code'] as const;

/**
 * URL of a domain's validation text, relative to the app's base path (as `bundledUrl`); the
 * guarded default also works where `import.meta.env` is absent (plain Node).
 *
 * @example
 * corpusUrl('code', '/sparsebook/'); // '/sparsebook/models/corpus/valid-code.txt'
 */
export function corpusUrl(domain: string, base: string = import.meta.env?.BASE_URL ?? '/'): string {
  return `${base.replace(/\/?$/, '/')}models/corpus/valid-${encodeURIComponent(domain)}.txt`;
}

export const moeRoutingKind: CellKind = {
  kind: 'moe-routing',
  title: 'MoE routing',
  description: 'Expert load, router entropy and domain specialisation of a mixture-of-experts model',
  defaults: () => ({ maxTokens: 2048, layer: 0, view: 'usage' }),
  viewParams: ['layer', 'view'],
  inputs: [{ role: 'model', label: 'Model', kinds: ['model'] }],
  async run({ cell, inputs, signal, services, progress }) {
    const model = inputs.model!.result.meta as unknown as ModelHandle;
    const maxTokens = Number(cell.params.maxTokens);
    if (!Number.isInteger(maxTokens) || maxTokens < 1 || maxTokens > MAX_MOE_TOKENS)
      throw new RangeError(
        `tokens per domain must be an integer in [1, ${MAX_MOE_TOKENS}], got ${cell.params.maxTokens}`,
      );
    const domains = [];
    for (const [i, domain] of MOE_DOMAINS.entries()) {
      progress(undefined, `Fetching the ${domain} text (${i + 1} of ${MOE_DOMAINS.length})…`);
      const bytes = await services.fetchBytes(corpusUrl(domain), { signal });
      domains.push({ domain, text: decodeText(bytes, corpusUrl(domain)) });
    }
    progress(0, 'Routing…');
    const r = await services.runtime.moeRouting(
      { domains, maxTokensPerDomain: maxTokens },
      {
        signal,
        model: model.key,
        onProgress: (p) => progress(p.total ? p.done / p.total : undefined, `Window ${p.done} of ${p.total}`),
      },
    );
    return {
      meta: r.summary as unknown as Json,
      tables: r.tables,
    };
  },
};

/** Strict UTF-8 (a corrupt corpus file is an error naming it, not silently replaced characters). */
function decodeText(bytes: ArrayBuffer, url: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new Error(`${url} is not valid UTF-8 text`);
  }
}
