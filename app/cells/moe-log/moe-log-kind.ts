/**
 * Routing-log cell: every MoE lab analysis on a routing log (Parquet, as `sparsebook moe-stats
 * --routing-out` or tools/routing-log/hf_routing_log.py write it) — picked files, or URLs read by
 * Range requests — without loading the model, for MoEs too big for a tab.
 */
import { MOE_LOG_OPTIONS } from '../../../analyses/moe/catalogue';
import { option, optionSchema } from '../../../analyses/options';
import type { MoeLabSummary } from '../../../workers/moe-lab-jobs';
import { defineCellKind } from '../cell-kind';
import { pickedFiles, type PickedFile } from '../model/model-kind';

const PARAMS = optionSchema({ ...MOE_LOG_OPTIONS.fields, files: option.json<PickedFile[]>([], pickedFiles) });

/** The URLs of the params, one per line (blank lines and surrounding spaces ignored). */
export function logUrls(text: string): string[] {
  return text
    .split(/\s*\n\s*/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export const moeLogKind = defineCellKind({
  kind: 'moe-log',
  title: 'MoE routing log',
  description: 'MoE lab analyses of a routing log (Parquet files or URLs), without the model',
  params: PARAMS,
  viewParams: ['layer', 'view'],
  inputs: [],
  waitingFor: (p) =>
    p.files.length === 0 && logUrls(p.urls).length === 0 ? 'pick routing-log files or give URLs' : undefined,
  async run({ params, signal, services, progress }) {
    const urls = logUrls(params.urls);
    for (const u of urls) if (!/^https?:\/\//.test(u)) throw new RangeError(`${u} is not an http(s) URL`);
    const files = [];
    for (const f of params.files) {
      const bytes = await services.getBlob(f.hash);
      if (!bytes)
        throw new RangeError(
          `${f.name} is not stored in this browser (opened from a link or file?): pick it again`,
        );
      files.push({ name: f.name, bytes });
    }
    progress(0, 'Reading the routing log…');
    const r = await services.runtime.moeLab(
      {
        source: files.length ? { kind: 'log-files', files } : { kind: 'log-urls', urls },
        microBatch:
          params.microBatchTokens > 0 ? { by: 'tokens', n: params.microBatchTokens } : { by: 'document' },
        mapTokens: params.mapTokens,
      },
      {
        signal,
        onProgress: (p) =>
          progress(p.total ? p.done / p.total : undefined, `Row group ${p.done} of ${p.total}`),
      },
    );
    const meta: MoeLabSummary = r.summary;
    return { meta, tables: r.tables };
  },
});
