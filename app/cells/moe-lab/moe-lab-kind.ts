/**
 * MoE lab cell: routes the bundled per-domain corpus or the user's own text through a
 * mixture-of-experts model and shows every routing analysis of the routing log
 * (workers/moe-lab-jobs.ts): co-activation, token → expert maps, LBL at micro and global scope,
 * top-k mass, chunk-level sparsity, vocabulary specialisation and cross-layer consistency.
 * `layer` and `view` only choose what is shown.
 */
import { MOE_LAB_OPTIONS } from '../../../analyses/moe/catalogue';
import type { MoeLabSummary } from '../../../workers/moe-lab-jobs';
import { defineCellKind } from '../cell-kind';
import { MODEL_INPUT } from '../model/model-kind';
import { corpusUrl, MOE_DOMAINS } from '../moe-routing/moe-routing-kind';

export const moeLabKind = defineCellKind({
  kind: 'moe-lab',
  title: 'MoE lab',
  description:
    'Co-activation, token→expert maps, load balancing at both scopes, chunk sparsity and vocabulary specialisation',
  params: MOE_LAB_OPTIONS,
  viewParams: ['layer', 'view'],
  inputs: [MODEL_INPUT],
  waitingFor: (p) => (p.source === 'text' && p.text.trim() === '' ? 'paste a text to route' : undefined),
  async run({ params, inputs, signal, services, progress }) {
    const domains: { domain: string; text: string }[] = [];
    if (params.source === 'text') domains.push({ domain: params.textDomain || 'text', text: params.text });
    else {
      for (const [i, domain] of MOE_DOMAINS.entries()) {
        progress(undefined, `Fetching the ${domain} text (${i + 1} of ${MOE_DOMAINS.length})…`);
        const bytes = await services.fetchBytes(corpusUrl(domain), { signal });
        domains.push({ domain, text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) });
      }
    }
    progress(0, 'Routing…');
    const r = await services.runtime.moeLab(
      {
        source: { kind: 'texts', domains, maxTokensPerDomain: params.maxTokens },
        microBatch:
          params.microBatchTokens > 0 ? { by: 'tokens', n: params.microBatchTokens } : { by: 'document' },
        mapTokens: params.mapTokens,
      },
      {
        signal,
        model: inputs.model.meta.key,
        onProgress: (p) => progress(p.total ? p.done / p.total : undefined, `Window ${p.done} of ${p.total}`),
      },
    );
    const meta: MoeLabSummary = r.summary;
    return { meta, tables: r.tables };
  },
});
