/**
 * MoE routing cell: routes the bundled per-domain validation corpus (literature, speeches, email,
 * code) through a mixture-of-experts model and shows, per layer, the domain × expert usage, the
 * expert load against uniform, the router entropy and the specialisation score (METHODS.md,
 * "Specialisation"; workers/moe-jobs.ts).
 *
 * `maxTokens` (per domain) decides what is computed; `layer` and `view` are view-only params: saved,
 * shared and undoable, but out of the cell's key, so switching layer or heatmap never re-runs.
 */
import { ROUTING_OPTIONS } from '../../../analyses/moe/catalogue';
import { defineCellKind } from '../cell-kind';
import { MODEL_INPUT } from '../model/model-kind';

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

export const moeRoutingKind = defineCellKind({
  kind: 'moe-routing',
  title: 'MoE routing',
  description: 'Expert load, router entropy and domain specialisation of a mixture-of-experts model',
  params: ROUTING_OPTIONS,
  viewParams: ['layer', 'view'],
  inputs: [MODEL_INPUT],
  async run({ params, inputs, signal, services, progress }) {
    const domains = [];
    for (const [i, domain] of MOE_DOMAINS.entries()) {
      progress(undefined, `Fetching the ${domain} text (${i + 1} of ${MOE_DOMAINS.length})…`);
      const bytes = await services.fetchBytes(corpusUrl(domain), { signal });
      domains.push({ domain, text: decodeText(bytes, corpusUrl(domain)) });
    }
    progress(0, 'Routing…');
    const r = await services.runtime.moeRouting(
      { domains, maxTokensPerDomain: params.maxTokens },
      {
        signal,
        model: inputs.model.meta.key,
        onProgress: (p) => progress(p.total ? p.done / p.total : undefined, `Window ${p.done} of ${p.total}`),
      },
    );
    return { meta: r.summary, tables: r.tables };
  },
});

function decodeText(bytes: ArrayBuffer, url: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new Error(`${url} is not valid UTF-8 text`);
  }
}
