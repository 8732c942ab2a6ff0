/**
 * The routing-log file format: Parquet, one row per (token, MoE layer), readable by pandas,
 * pyarrow, DuckDB and Sparsebook alike, so logs of models too big for a tab can be written by the
 * engines that run them (tools/routing-log/) and analysed here without the model.
 *
 * | column          | Parquet type              | meaning                                         |
 * | --------------- | ------------------------- | ----------------------------------------------- |
 * | `document`      | INT32                     | document index (global across files)            |
 * | `position`      | INT32                     | position in the document (0 = document token)   |
 * | `token_id`      | INT32                     | token id                                        |
 * | `layer`         | INT32                     | the model's layer index                         |
 * | `experts`       | LIST<INT32>, k entries    | chosen experts, best first (−1 = empty slot)    |
 * | `gates`         | LIST<FLOAT>, k entries    | their gate weights                              |
 * | `router_logits` | LIST<FLOAT>, E (optional) | router logits (softmax = router probabilities)  |
 * | `domain`        | UTF8 (optional)           | domain label of the token's text                |
 *
 * Key-value metadata `sparsebook.routing_log` holds JSON `{"version":1,"n_experts":E,"top_k":k,
 * "n_layers":L,"source":…}`; without it E is taken from the logits' length or the largest expert
 * id. A log may be split into several files (row ranges of one log); their rows are merged and
 * ordered by (document, position).
 */
import { parquetMetadataAsync, parquetRead, type AsyncBuffer } from 'hyparquet';
import { parquetWriteBuffer, type ColumnSource, type SchemaElement } from 'hyparquet-writer';
import { RoutingLogError, tokenCount, validateRoutingLog, type RoutingLog } from './routing-log';

export const ROUTING_LOG_METADATA_KEY = 'sparsebook.routing_log';
export const ROUTING_LOG_COLUMNS = [
  'document',
  'position',
  'token_id',
  'layer',
  'experts',
  'gates',
  'router_logits',
  'domain',
] as const;

interface LogMetadata {
  version: number;
  n_experts?: number;
  top_k?: number;
  n_layers?: number;
  source?: string;
}

/**
 * The log as Parquet files of at most `maxRowsPerFile` rows each (one file by default); rows are
 * token-major (all layers of a token together).
 *
 * @example
 * const [bytes] = routingLogToParquet(log);
 * await writeFile('routing.parquet', bytes);
 */
export function routingLogToParquet(
  log: RoutingLog,
  options: { maxRowsPerFile?: number } = {},
): Uint8Array[] {
  validateRoutingLog(log);
  const T = tokenCount(log);
  const L = log.layers.length;
  const { nExperts: E, topK: k } = log;
  const withLogits = log.layers.every((l) => l.logits);
  const rows = T * L;
  const perFile = Math.max(L, options.maxRowsPerFile ?? rows);
  const meta: LogMetadata = { version: 1, n_experts: E, top_k: k, n_layers: L, source: log.source };
  const files: Uint8Array[] = [];
  // Files end on token boundaries so that no token is split across two files.
  const tokensPerFile = Math.max(1, Math.floor(perFile / L));
  for (let t0 = 0; t0 < T; t0 += tokensPerFile) {
    const t1 = Math.min(T, t0 + tokensPerFile);
    const n = (t1 - t0) * L;
    const document = new Int32Array(n);
    const position = new Int32Array(n);
    const tokenId = new Int32Array(n);
    const layer = new Int32Array(n);
    const experts: number[][] = [];
    const gates: number[][] = [];
    const logits: number[][] = [];
    const domain: string[] = [];
    let r = 0;
    for (let t = t0; t < t1; t++) {
      for (let l = 0; l < L; l++, r++) {
        document[r] = log.document[t]!;
        position[r] = log.position[t]!;
        tokenId[r] = log.tokenId[t]!;
        layer[r] = log.layerIds[l]!;
        const ly = log.layers[l]!;
        experts.push(Array.from(ly.experts.subarray(t * k, t * k + k)));
        gates.push(Array.from(ly.gates.subarray(t * k, t * k + k)));
        if (withLogits) logits.push(Array.from(ly.logits!.subarray(t * E, t * E + E)));
        domain.push(log.domains[log.domain[t]!]!);
      }
    }
    const columnData: ColumnSource[] = [
      { name: 'document', data: document },
      { name: 'position', data: position },
      { name: 'token_id', data: tokenId },
      { name: 'layer', data: layer },
      { name: 'experts', data: experts },
      { name: 'gates', data: gates },
      ...(withLogits ? [{ name: 'router_logits', data: logits }] : []),
      { name: 'domain', data: domain },
    ];
    const schema: SchemaElement[] = [
      { name: 'root', num_children: columnData.length },
      ...(['document', 'position', 'token_id', 'layer'] as const).map((name): SchemaElement => ({
        name,
        type: 'INT32',
        repetition_type: 'REQUIRED',
      })),
      ...listColumn('experts', 'INT32'),
      ...listColumn('gates', 'FLOAT'),
      ...(withLogits ? listColumn('router_logits', 'FLOAT') : []),
      { name: 'domain', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
    ];
    files.push(
      new Uint8Array(
        parquetWriteBuffer({
          columnData,
          schema,
          rowGroupSize: 65_536,
          kvMetadata: [{ key: ROUTING_LOG_METADATA_KEY, value: JSON.stringify(meta) }],
          createdBy: 'sparsebook (hyparquet-writer)',
        }),
      ),
    );
  }
  return files;
}

function listColumn(name: string, type: 'INT32' | 'FLOAT'): SchemaElement[] {
  return [
    { name, repetition_type: 'REQUIRED', converted_type: 'LIST', num_children: 1 },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    { name: 'element', type, repetition_type: 'REQUIRED' },
  ];
}

/** A routing-log file to read: its bytes, read by range, and a name for messages. */
export interface RoutingLogFile {
  name: string;
  buffer: AsyncBuffer;
}

interface TokenRecord {
  document: number;
  position: number;
  tokenId: number;
  domain: string;
  /** Per layer slot: [experts, gates, logits?]. */
  layers: ([number[], number[], number[] | null] | undefined)[];
  where: string;
}

/**
 * Read a routing log from one or more Parquet files (row group by row group, by range), merge
 * them and order the tokens by (document, position).
 *
 * @example
 * const log = await readRoutingLog([{ name: 'r.parquet', buffer: await asyncBufferFromFile('r.parquet') }]);
 * @throws RoutingLogError naming the file for a missing column, a token logged twice, a token
 *   without every layer, inconsistent k or E, or values out of range; the signal's reason when aborted.
 */
export async function readRoutingLog(
  files: readonly RoutingLogFile[],
  options: { signal?: AbortSignal; onProgress?: (p: { done: number; total: number }) => void } = {},
): Promise<RoutingLog> {
  if (files.length === 0) throw new RoutingLogError('no routing-log file was given');
  const source = files.map((f) => f.name).join(', ');
  const byDocument = new Map<number, Map<number, TokenRecord>>();
  const layerIds = new Set<number>();
  let meta: LogMetadata | undefined;
  let k: number | undefined;
  let E: number | undefined;
  let maxExpert = -1;
  let withLogits: boolean | undefined;
  const plan: { file: RoutingLogFile; groups: { start: number; end: number }[] }[] = [];
  for (const file of files) {
    const metadata = await parquetMetadataAsync(file.buffer);
    const names = new Set(metadata.schema.slice(1).map((s) => s.name));
    for (const c of ['document', 'position', 'token_id', 'layer', 'experts', 'gates']) {
      if (!names.has(c))
        throw new RoutingLogError(`${file.name}: not a routing log — it has no "${c}" column`);
    }
    const m = metadata.key_value_metadata?.find((kv) => kv.key === ROUTING_LOG_METADATA_KEY)?.value;
    if (m !== undefined) {
      let parsed: LogMetadata;
      try {
        parsed = JSON.parse(m) as LogMetadata;
      } catch {
        throw new RoutingLogError(`${file.name}: its ${ROUTING_LOG_METADATA_KEY} metadata is not JSON`);
      }
      if (parsed.version !== 1)
        throw new RoutingLogError(
          `${file.name}: routing-log version ${parsed.version} is not supported (1 is)`,
        );
      if (meta && (meta.n_experts !== parsed.n_experts || meta.top_k !== parsed.top_k)) {
        throw new RoutingLogError(
          `${file.name}: ${parsed.n_experts} experts, top-${parsed.top_k}, but the other files have ${meta.n_experts}, top-${meta.top_k}`,
        );
      }
      meta = parsed;
    }
    const hasLogitsColumn = names.has('router_logits');
    if (withLogits !== undefined && withLogits !== hasLogitsColumn) {
      throw new RoutingLogError(`${file.name}: some files of this log have router logits and others do not`);
    }
    withLogits = hasLogitsColumn;
    let start = 0;
    const groups = metadata.row_groups.map((g) => {
      const n = Number(g.num_rows);
      const r = { start, end: start + n };
      start += n;
      return r;
    });
    plan.push({ file, groups });
  }
  const total = plan.reduce((n, p) => n + p.groups.length, 0);
  let done = 0;
  options.onProgress?.({ done, total });
  for (const { file, groups } of plan) {
    const columns: string[] = ROUTING_LOG_COLUMNS.filter(
      (c) => c !== 'domain' && (withLogits || c !== 'router_logits'),
    );
    const hasDomain = (await parquetMetadataAsync(file.buffer)).schema.some((s) => s.name === 'domain');
    if (hasDomain) columns.push('domain');
    for (const g of groups) {
      options.signal?.throwIfAborted();
      let rows: unknown[][] = [];
      await parquetRead({
        file: file.buffer,
        columns,
        rowStart: g.start,
        rowEnd: g.end,
        onComplete: (data) => {
          rows = data as unknown[][];
        },
      });
      rows.forEach((row, i) => {
        const where = `${file.name} row ${g.start + i}`;
        const [document, position, tokenId, layer] = row.slice(0, 4).map((v) => Number(v));
        const experts = numbers(row[4], 'experts', where);
        const gates = numbers(row[5], 'gates', where);
        const logits = withLogits ? numbers(row[6], 'router_logits', where) : null;
        const domain = hasDomain ? String(row[columns.length - 1] ?? '') || 'text' : 'text';
        if (![document, position, tokenId, layer].every((v) => Number.isInteger(v) && v! >= 0)) {
          throw new RoutingLogError(
            `${where}: document, position, token_id and layer must be non-negative integers`,
          );
        }
        k ??= experts.length;
        if (experts.length !== k || gates.length !== k) {
          throw new RoutingLogError(
            `${where}: ${experts.length} experts and ${gates.length} gates; earlier rows have top-${k}`,
          );
        }
        if (logits) {
          E ??= logits.length;
          if (logits.length !== E)
            throw new RoutingLogError(`${where}: ${logits.length} router logits; earlier rows have ${E}`);
        }
        for (const e of experts) maxExpert = Math.max(maxExpert, e);
        layerIds.add(layer!);
        let docMap = byDocument.get(document!);
        if (!docMap) byDocument.set(document!, (docMap = new Map()));
        let rec = docMap.get(position!);
        if (!rec)
          docMap.set(
            position!,
            (rec = {
              document: document!,
              position: position!,
              tokenId: tokenId!,
              domain,
              layers: [],
              where,
            }),
          );
        else if (rec.tokenId !== tokenId || rec.domain !== domain) {
          throw new RoutingLogError(
            `${where}: document ${document} position ${position} is token ${tokenId} (${domain}) here but ${rec.tokenId} (${rec.domain}) at ${rec.where}`,
          );
        }
        if (rec.layers[layer!])
          throw new RoutingLogError(
            `${where}: layer ${layer} of document ${document} position ${position} is logged twice`,
          );
        rec.layers[layer!] = [experts, gates, logits];
      });
      options.onProgress?.({ done: ++done, total });
    }
  }
  if (k === undefined) throw new RoutingLogError(`routing log ${source} has no rows`);
  const nExperts = meta?.n_experts ?? E ?? maxExpert + 1;
  if (E !== undefined && E !== nExperts)
    throw new RoutingLogError(`routing log ${source}: ${E} router logits per row but n_experts ${nExperts}`);
  const ids = [...layerIds].sort((a, b) => a - b);
  const records = [...byDocument.keys()]
    .sort((a, b) => a - b)
    .flatMap((d) => [...byDocument.get(d)!.values()].sort((a, b) => a.position - b.position));
  const T = records.length;
  const domains = [...new Set(records.map((r) => r.domain))];
  const layers = ids.map((id) => ({
    experts: new Int32Array(T * k!),
    gates: new Float32Array(T * k!),
    logits: withLogits ? new Float32Array(T * nExperts) : undefined,
    id,
  }));
  records.forEach((r, t) => {
    layers.forEach((ly) => {
      const entry = r.layers[ly.id];
      if (!entry)
        throw new RoutingLogError(
          `routing log ${source}: document ${r.document} position ${r.position} has no row for layer ${ly.id}`,
        );
      ly.experts.set(entry[0], t * k!);
      ly.gates.set(entry[1], t * k!);
      if (ly.logits) ly.logits.set(entry[2]!, t * nExperts);
    });
  });
  const log: RoutingLog = {
    nExperts,
    topK: meta?.top_k ?? k,
    domains,
    document: Int32Array.from(records, (r) => r.document),
    position: Int32Array.from(records, (r) => r.position),
    tokenId: Int32Array.from(records, (r) => r.tokenId),
    domain: Int32Array.from(records, (r) => domains.indexOf(r.domain)),
    layers: layers.map(({ experts, gates, logits }) => ({ experts, gates, logits })),
    layerIds: ids,
    source: meta?.source ? `${meta.source} (${source})` : source,
  };
  validateRoutingLog(log);
  return log;
}

function numbers(v: unknown, column: string, where: string): number[] {
  if (!Array.isArray(v) && !ArrayBuffer.isView(v))
    throw new RoutingLogError(`${where}: ${column} is not a list`);
  return Array.from(v as ArrayLike<unknown>, (x) => {
    const n = Number(x);
    if (Number.isNaN(n)) throw new RoutingLogError(`${where}: ${column} holds ${String(x)}, not a number`);
    return n;
  });
}
