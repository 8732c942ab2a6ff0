import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tableToIPC, type Table } from 'apache-arrow';
import {
  LOCAL_HEAD_MAX_DISTANCE,
  probeAttention,
  SINK_HEAD_MIN_MASS,
  type HeadProbe,
  type ProbeSummary,
} from '../../analyses/attention/probes';
import { tableToParquet } from '../../runtime/parquet';
import { backendFlag, numberFlag, parseFlags, required, UsageError } from '../args';
import { loadModel, readText } from '../session';

export const ATTENTION_PROBE_USAGE = `sparsebook attention-probe --model DIR|M [--tokenizer T] --text F [--max-windows N] [--max-tokens N] [--n-sink N] [--backend cpu|webgpu] [--out FILE.arrow|FILE.parquet] [--json]

Attention probes per layer and head over a text, cut into the loss evaluation's windows: mean
entropy (nats), sink mass (share of attention on the window's first --n-sink tokens, default 1),
mean attention distance (tokens), the k keeping 90 / 95 / 99 % of each query's mass, top-k
coverage, locality profile, and vertical (column) / slash (diagonal) structure scores in [0, 1].

--out writes the per-head table (same columns either way): as Parquet when FILE ends in .parquet,
otherwise (.arrow, …) as Arrow IPC, file format. A head is sink-dominated when its sink mass
exceeds ${SINK_HEAD_MIN_MASS} and local when its mean distance is below ${LOCAL_HEAD_MAX_DISTANCE} tokens. With --json, one JSON
object is printed as the last line.`;

export async function attentionProbeCommand(argv: string[], print: (line: string) => void): Promise<void> {
  const f = parseFlags(
    argv,
    {
      model: { type: 'string' },
      tokenizer: { type: 'string' },
      text: { type: 'string' },
      'max-windows': { type: 'string' },
      'max-tokens': { type: 'string' },
      'n-sink': { type: 'string' },
      backend: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean' },
    },
    ATTENTION_PROBE_USAGE,
  );
  const backendKind = backendFlag(f.backend);
  const modelArg = required(f.model, 'model', ATTENTION_PROBE_USAGE);
  const textFile = required(f.text, 'text', ATTENTION_PROBE_USAGE);
  const maxWindows = numberFlag(f['max-windows'], 'max-windows', Infinity);
  if (!(maxWindows >= 1)) throw new UsageError(`--max-windows must be at least 1, got ${f['max-windows']}`);
  const maxTokens = numberFlag(f['max-tokens'], 'max-tokens', Infinity);
  if (!(maxTokens >= 1)) throw new UsageError(`--max-tokens must be at least 1, got ${f['max-tokens']}`);
  const nSink = numberFlag(f['n-sink'], 'n-sink', 1);
  if (!Number.isInteger(nSink) || nSink < 0) {
    throw new UsageError(`--n-sink must be an integer ≥ 0, got ${f['n-sink']}`);
  }
  const text = await readText(textFile);

  const { backend, model, tokenizer, source } = await loadModel(backendKind, modelArg, f.tokenizer);
  try {
    const t0 = performance.now();
    const r = await probeAttention(model, tokenizer, text, {
      fileName: path.basename(textFile),
      maxWindows,
      maxTokens,
      nSink,
      onProgress: f.json ? undefined : ({ done, total }) => process.stderr.write(`\rwindow ${done}/${total}`),
    });
    const seconds = (performance.now() - t0) / 1000;
    if (!f.json) process.stderr.write('\n');
    if (f.out) await writeFile(f.out, tableBytes(r.heads, f.out));
    const s = r.summary;
    if (f.json) {
      const head = (h: HeadProbe) => ({
        layer: h.layer,
        head: h.head,
        entropy: h.entropy,
        normalized_entropy: h.normalizedEntropy,
        sink_mass: h.sinkMass,
        mean_distance: h.meanDistance,
        k90: h.k90,
        k95: h.k95,
        k99: h.k99,
        vertical: h.vertical,
        slash: h.slash,
      });
      const name = (h: HeadProbe) => ({ layer: h.layer, head: h.head });
      print(
        JSON.stringify({
          model: source,
          backend: backend.kind,
          seconds,
          windows: s.windows,
          tokens: s.tokens,
          n_sink: s.nSink,
          sink_threshold: SINK_HEAD_MIN_MASS,
          local_threshold: LOCAL_HEAD_MAX_DISTANCE,
          heads: s.heads.map(head),
          sink_heads: s.sinkHeads.map(name),
          local_heads: s.localHeads.map(name),
          out: f.out ?? null,
        }),
      );
    } else {
      printReadable(s, `${source} on ${backend.description}, ${seconds.toFixed(2)} s`, print);
      if (f.out) print(`per-head table written to ${f.out}`);
    }
  } finally {
    model.dispose();
    backend.destroy();
  }
}

/** Parquet for a `.parquet` file name (any case), Arrow IPC file format for anything else. */
function tableBytes(table: Table, file: string): Uint8Array {
  return /\.parquet$/i.test(file) ? tableToParquet(table) : tableToIPC(table, 'file');
}

function printReadable(s: ProbeSummary, header: string, print: (line: string) => void): void {
  print(header);
  print(`${s.windows} windows, ${s.tokens} query rows per head; sink = first ${s.nSink} token(s)`);
  print('');
  print('head    entropy  norm  sink   dist    k90    k99  vert  slash');
  for (const h of s.heads) {
    const n = (x: number, d: number, w: number) => x.toFixed(d).padStart(w);
    print(
      `L${h.layer}H${h.head}`.padEnd(6) +
        `${n(h.entropy, 3, 9)} ${n(h.normalizedEntropy, 2, 5)} ${n(h.sinkMass, 3, 5)} ${n(h.meanDistance, 1, 6)} ${n(h.k90, 1, 6)} ${n(h.k99, 1, 6)} ${n(h.vertical, 2, 5)} ${n(h.slash, 2, 6)}`,
    );
  }
  const list = (hs: HeadProbe[]) => (hs.length ? hs.map((h) => `L${h.layer}H${h.head}`).join(' ') : 'none');
  print('');
  print(`sink-dominated (sink mass > ${SINK_HEAD_MIN_MASS}): ${list(s.sinkHeads)}`);
  print(`local (mean distance < ${LOCAL_HEAD_MAX_DISTANCE}): ${list(s.localHeads)}`);
}
