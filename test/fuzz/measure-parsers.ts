/**
 * Count what the notebook-file, share-link and report parsers do with a fixed, seeded set of
 * malformed inputs: clean errors (NotebookError), correct accepts, crashes (any other exception,
 * or one thrown by code that uses an accepted value), hangs (> 2 s), silent accepts (accepted but
 * wrong: a different notebook, a lost or invented result, a value that does not round-trip) and
 * memory blow-ups (peak RSS growth > 256 MiB). Prints one JSON line per parser.
 *
 *   npx tsx test/fuzz/measure-parsers.ts [--runs N]
 *
 * It only reads the parsers' public API, so the same script measured the code before and after
 * the fixes of the reliability issue (numbers in test/fuzz/README.md).
 */
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'fflate';
import fc from 'fast-check';
import { KNOWN_KINDS } from '../../app/cells/kinds';
import { encodeBase64url } from '../../app/notebook/base64url';
import { canonicalJson } from '../../app/notebook/canonical-json';
import { crc32 } from '../../app/notebook/crc32';
import { NotebookError } from '../../app/notebook/notebook-error';
import { parseNotebookFile, serializeNotebook } from '../../app/notebook/notebook-file';
import * as shareLink from '../../app/notebook/share-link';
import { buildProvenance, paramsLine } from '../../app/report/provenance';
import * as reportData from '../../app/report/report-data';
import { reportBytesFromHtml, reportHtml, REPORT_DATA_SLOT } from '../../app/report/report-html';
import { sampleNotebook } from '../app/notebook/persistence-fixtures';
import {
  applyByteEdit,
  applyEdit,
  BYTE_CHARS,
  craftFrame,
  docWithIds,
  editArb,
  FUZZ_SEED,
  hostileNotebookArb,
  hostileReportArb,
  LINK_CHARS,
  reportHeader,
  reportRaw,
} from './inputs';
import { RssPeak } from './rss-peak';

type Verdict = 'ok' | 'silent' | 'crash';
interface Case {
  label: string;
  /** The input, shortened, for the examples printed with --verbose. */
  show?: string;
  /** The input as `--dump` writes it: text, or bytes in base64url (`raw`: report bytes before packing). */
  input?: { text: string } | { bytes: string } | { raw: string };
  run: () => unknown;
  /** Judge an accepted value: ok, silent (wrong), or crash (using it threw). */
  judge: (value: unknown) => Verdict;
}

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 400;
const opts = { knownKinds: KNOWN_KINDS };
const sample = <T>(arb: fc.Arbitrary<T>, n: number, seed = FUZZ_SEED): T[] =>
  fc.sample(arb, { seed, numRuns: n });
const safe = (f: () => Verdict): Verdict => {
  try {
    return f();
  } catch {
    return 'crash';
  }
};

// ── notebook file ────────────────────────────────────────────────────────

function judgeDoc(input: unknown, doc: unknown): Verdict {
  return safe(() => {
    const back = parseNotebookFile(serializeNotebook(doc as never), 'back', opts);
    if (canonicalJson(back) !== canonicalJson(doc)) return 'silent';
    const raw = input as { version?: unknown };
    if (raw?.version === 2 && canonicalJson(input) !== canonicalJson(doc)) return 'silent';
    return 'ok';
  });
}

function notebookCases(): Case[] {
  const text = serializeNotebook(sampleNotebook());
  const cases: Case[] = [];
  for (const e of sample(editArb([...LINK_CHARS, '"', '{', '}', ',', ':', '[', ']', '1', '\\']), RUNS / 2)) {
    const t = applyEdit(text, e);
    cases.push({
      label: 'edit',
      input: { text: t },
      run: () => parseNotebookFile(t, 'fuzz.sparsebook.json', opts),
      judge: (doc) => judgeDoc(tryParse(t), doc),
    });
  }
  for (const v of sample(hostileNotebookArb(), RUNS / 2)) {
    const t = JSON.stringify(v) ?? 'null';
    cases.push({
      label: 'hostile',
      show: t,
      input: { text: t },
      run: () => parseNotebookFile(t, 'fuzz.sparsebook.json', opts),
      judge: (doc) => judgeDoc(v, doc),
    });
  }
  for (const t of ['['.repeat(200_000), '{"a":'.repeat(100_000), ' '.repeat(40 << 20), '\ufeff']) {
    cases.push({
      label: 'big',
      run: () => parseNotebookFile(t, 'big.json', opts),
      judge: (d) => judgeDoc(tryParse(t), d),
    });
  }
  return cases;
}

function tryParse(t: string): unknown {
  try {
    return JSON.parse(t.charCodeAt(0) === 0xfeff ? t.slice(1) : t);
  } catch {
    return undefined;
  }
}

// ── share link ───────────────────────────────────────────────────────────

/** A link carrying `text` in the format this build reads (checked after the fixes, bare before). */
function linkOf(text: string): string {
  const compressed = deflateSync(new TextEncoder().encode(text), { level: 9 });
  if (!('SHARE_LINK_VERSION' in shareLink)) return '#nb=' + encodeBase64url(compressed);
  return `#nb=1.${crc32(compressed).toString(16).padStart(8, '0')}.${encodeBase64url(compressed)}`;
}

function linkCases(): Case[] {
  const original = sampleNotebook();
  const link = shareLink.encodeShareHash(original);
  const cases: Case[] = [];
  for (const e of sample(editArb(LINK_CHARS), RUNS)) {
    const h = applyEdit(link, e);
    cases.push({
      label: 'edit',
      input: { text: h },
      run: () => shareLink.decodeShareHash(h, opts),
      judge: (doc) => (canonicalJson(doc) === canonicalJson(original) ? 'ok' : 'silent'),
    });
  }
  for (const v of sample(hostileNotebookArb(), RUNS / 4, FUZZ_SEED + 1)) {
    const h = linkOf(JSON.stringify(v) ?? 'null');
    cases.push({
      label: 'hostile',
      show: JSON.stringify(v),
      input: { text: JSON.stringify(v) ?? 'null' },
      run: () => shareLink.decodeShareHash(h, opts),
      judge: (doc) =>
        safe(() => {
          const again = shareLink.decodeShareHash(shareLink.encodeShareHash(doc as never), opts);
          if (canonicalJson(again) !== canonicalJson(doc)) return 'silent';
          return (v as { version?: unknown })?.version === 2 && canonicalJson(v) !== canonicalJson(doc)
            ? 'silent'
            : 'ok';
        }),
    });
  }
  for (const s of sample(fc.string({ unit: fc.constantFrom(...LINK_CHARS), maxLength: 200 }), RUNS / 4)) {
    cases.push({
      label: 'random',
      run: () => shareLink.decodeShareHash('#nb=' + s, opts),
      judge: () => 'silent',
    });
  }
  const bomb = linkOf(' '.repeat(64 << 20));
  cases.push({ label: 'bomb', run: () => shareLink.decodeShareHash(bomb, opts), judge: () => 'silent' });
  return cases;
}

// ── report ───────────────────────────────────────────────────────────────

type AnyCells = Record<string, reportData.ReportCell> | ReadonlyMap<string, reportData.ReportCell>;
const cellOf = (cells: AnyCells, id: string): reportData.ReportCell | undefined =>
  cells instanceof Map ? cells.get(id) : (cells as Record<string, reportData.ReportCell>)[id];
const cellIds = (cells: AnyCells): string[] =>
  cells instanceof Map ? [...cells.keys()] : Object.keys(cells);
/** encodeReport's cells argument in whichever form this build takes (a Map after the fixes). */
let MAP_API = false;
const cellsArg = (entries: [string, reportData.ReportCell][]): never =>
  (MAP_API ? new Map(entries) : Object.fromEntries(entries)) as never;
/** Frame raw report bytes the way this build packs them (deflate, plus a checksum after the fixes). */
const pack = (raw: Uint8Array): Uint8Array =>
  'frameReport' in reportData
    ? (reportData as unknown as { frameReport: (b: Uint8Array) => Uint8Array }).frameReport(raw)
    : deflateSync(raw);
const VERSION = reportData.REPORT_VERSION;

/** What the app does with an accepted report (startReport, Provenance.svelte, the result cache). */
function useReport(data: reportData.ReportData): Verdict {
  const p = data.provenance;
  void (p.backend.kind === 'webgpu');
  void `${p.sparsebookVersion} ${p.backend.description || p.backend.kind} ${String(new Date(p.createdAt))} ${p.producer}`;
  const unique = (xs: string[]) => new Set(xs).size === xs.length;
  if (!unique(p.models.map((m) => m.cellId)) || !unique(p.texts.map((t) => t.cellId))) return 'silent';
  if (!unique(p.cells.map((c) => c.id))) return 'silent';
  for (const m of p.models)
    if (typeof m.model !== 'string' || typeof m.tokenizer !== 'string') return 'silent';
  for (const t of p.texts) if (typeof t.name !== 'string' || typeof t.hash !== 'string') return 'silent';
  for (const c of p.cells) if (typeof paramsLine(c.params) !== 'string') return 'silent';
  const ids = new Set(data.doc.cells.map((c) => c.id));
  for (const id of cellIds(data.cells)) if (!ids.has(id)) return 'silent';
  for (const c of data.doc.cells) {
    const rc = cellOf(data.cells, c.id);
    if (rc === undefined) continue;
    if (typeof rc !== 'object' || typeof rc.key !== 'string') return 'silent';
    for (const t of Object.values(rc.result.tables)) if (!(t instanceof Uint8Array)) return 'silent';
    if (Object.getPrototypeOf(rc.result.tables) instanceof Uint8Array) return 'silent';
  }
  return 'ok';
}

function sameReport(a: reportData.ReportData, b: reportData.ReportData): boolean {
  if (canonicalJson(a.doc) !== canonicalJson(b.doc)) return false;
  if (canonicalJson(a.provenance) !== canonicalJson(b.provenance)) return false;
  const ids = cellIds(a.cells).sort();
  if (canonicalJson(ids) !== canonicalJson(cellIds(b.cells).sort())) return false;
  for (const id of ids) {
    const x = cellOf(a.cells, id)!;
    const y = cellOf(b.cells, id)!;
    if (x.key !== y.key || canonicalJson(x.result.meta) !== canonicalJson(y.result.meta)) return false;
    const names = Object.keys(x.result.tables).sort();
    if (canonicalJson(names) !== canonicalJson(Object.keys(y.result.tables).sort())) return false;
    for (const n of names) if (Buffer.compare(x.result.tables[n]!, y.result.tables[n]!) !== 0) return false;
  }
  return true;
}

function judgeReport(
  value: unknown,
  expect?: reportData.ReportData,
  header?: Record<string, unknown>,
): Verdict {
  return safe(() => {
    const data = value as reportData.ReportData;
    const used = useReport(data);
    if (used !== 'ok') return used;
    if (expect && !sameReport(data, expect)) return 'silent';
    if (header) {
      // Every result the header holds for a cell of its notebook comes out under that id, and no other.
      const raw = header.cells as Record<string, { key: unknown }>;
      for (const id of Object.keys(raw)) if (cellOf(data.cells, id)?.key !== raw[id]!.key) return 'silent';
      for (const id of cellIds(data.cells)) if (!Object.hasOwn(raw, id)) return 'silent';
      const v = header.version;
      if (!Number.isInteger(v) || (v as number) < 1) return 'silent';
    }
    const again = reportData.decodeReport(
      reportData.encodeReport({
        doc: data.doc,
        cells: cellsArg(cellIds(data.cells).map((id) => [id, cellOf(data.cells, id)!])),
        provenance: data.provenance,
      }),
      opts,
    );
    return sameReport(again, data) ? 'ok' : 'silent';
  });
}

async function reportCases(): Promise<Case[]> {
  const doc = sampleNotebook();
  doc.cells.push({ id: 'loss', kind: 'loss', params: {}, inputs: { model: 'm1', text: 't1' } });
  const result = {
    meta: { loss: 1.5 },
    tables: { curve: Uint8Array.from({ length: 300 }, (_, i) => i % 7) },
  };
  // Results by cell id as both a Map (this build) and a plain object (before the fixes).
  const results = Object.assign(new Map([['loss', result]]), { loss: result });
  const provenance = await buildProvenance(
    doc,
    results as never,
    { kind: 'cpu', description: 'CPU' },
    'app',
    new Date(0),
  );
  // Which cells argument does this build's encodeReport take?
  const probe = (cells: unknown) =>
    cellIds(
      reportData.decodeReport(reportData.encodeReport({ doc, cells: cells as never, provenance })).cells,
    ).length;
  MAP_API = probe(new Map([['loss', { key: 'k', result }]])) === 1;
  const original: reportData.ReportData = {
    doc,
    cells: cellsArg([['loss', { key: 'k', result }]]),
    provenance,
  };
  const packed = reportData.encodeReport(original);
  const decodedOriginal = reportData.decodeReport(packed, opts);
  const html = reportHtml(`<title>Sparsebook report</title>${REPORT_DATA_SLOT}`, packed, doc.title);
  const start = html.indexOf('>', html.indexOf('sparsebook-report-data')) + 1;
  const end = html.indexOf('</script>', start);
  const cases: Case[] = [];
  for (const e of sample(editArb(LINK_CHARS), RUNS / 2)) {
    const i = start + Math.min(end - start - 1, Math.floor(e.at * (end - start)));
    const edited = applyEdit(html, { ...e, at: i / html.length + 1e-12 });
    cases.push({
      label: 'edit-text',
      input: { bytes: encodeBase64url(reportBytesFromHtmlSafe(edited)) },
      run: () => reportData.decodeReport(reportBytesFromHtml(edited), opts),
      judge: (v) => judgeReport(v, decodedOriginal),
    });
  }
  for (const e of sample(editArb(BYTE_CHARS), RUNS / 2)) {
    const bytes = applyByteEdit(packed, e);
    cases.push({
      label: 'edit-bytes',
      input: { bytes: encodeBase64url(bytes) },
      run: () => reportData.decodeReport(bytes, opts),
      judge: (v) => judgeReport(v, decodedOriginal),
    });
  }
  for (const { header, tail } of sample(hostileReportArb(), RUNS / 2)) {
    const h = { ...header, version: header.version === 1 ? VERSION : header.version };
    const bytes = pack(reportRaw(h, tail));
    cases.push({
      label: 'hostile',
      show: JSON.stringify({ ...h, doc: undefined }),
      input: { raw: encodeBase64url(reportRaw(h, tail)) },
      run: () => reportData.decodeReport(bytes, opts),
      judge: (v) => judgeReport(v, undefined, h),
    });
  }
  for (const s of sample(fc.uint8Array({ maxLength: 300 }), RUNS / 8)) {
    cases.push({ label: 'random', run: () => reportData.decodeReport(s, opts), judge: () => 'silent' });
  }
  // The bomb: 486 KB of DEFLATE that inflates to 500 MB of zeros (a zero header length).
  const bomb = deflateSync(new Uint8Array(500_000_000), { level: 9 });
  cases.push({
    label: `bomb ${Math.round(bomb.length / 1024)} KB`,
    run: () => reportData.decodeReport(bomb, opts),
    judge: () => 'silent',
  });
  // A valid report whose one table is 400 MiB of zeros: ~400 KB packed.
  const big = new Uint8Array(400 << 20);
  const bigHeader = reportHeader(docWithIds(['m', 't', 'l']));
  const bigRaw = reportRaw({ ...bigHeader, version: VERSION, tables: [big.length] }, big);
  const bigDeflated = deflateSync(bigRaw, { level: 9 });
  const framed = 'frameReport' in reportData;
  const bigPacked = framed ? craftFrame(bigDeflated, bigRaw.length) : bigDeflated;
  cases.push({
    label: `bomb-valid ${Math.round(bigPacked.length / 1024)} KB`,
    run: () => reportData.decodeReport(bigPacked, opts),
    judge: () => 'ok',
  });
  if (framed) {
    // The same data under a frame that understates its size: inflation stops at the stated size.
    const understated = craftFrame(bigDeflated, 30 << 20);
    cases.push({
      label: 'bomb-understated',
      run: () => reportData.decodeReport(understated, opts),
      judge: () => 'silent',
    });
    const framedBomb = craftFrame(bomb, 500_000_000);
    cases.push({
      label: 'bomb-framed',
      run: () => reportData.decodeReport(framedBomb, opts),
      judge: () => 'silent',
    });
  }
  return cases;
}

// ── run ──────────────────────────────────────────────────────────────────

function reportBytesFromHtmlSafe(html: string): Uint8Array {
  try {
    return reportBytesFromHtml(html);
  } catch {
    return new Uint8Array();
  }
}

/** Failing inputs, by parser, for `--dump FILE` (the seed of test/fuzz/corpus). */
const dumped: Record<string, unknown>[] = [];

async function measure(name: string, cases: Case[], rss: RssPeak): Promise<void> {
  const counts = { inputs: cases.length, clean: 0, ok: 0, crashes: 0, hangs: 0, silent: 0, memory: 0 };
  const examples: Record<string, string[]> = { crashes: [], silent: [], hangs: [], memory: [] };
  const verbose = process.argv.includes('--verbose');
  const note = (k: keyof typeof examples, s: string) => {
    if (examples[k]!.length < (verbose ? 40 : 4)) examples[k]!.push(s.slice(0, verbose ? 400 : 160));
  };
  let maxMib = 0;
  let maxMs = 0;
  const byLabel: Record<string, Record<string, number>> = {};
  const tally = (label: string, what: string) => {
    const row = (byLabel[label.split(' ')[0]!] ??= {});
    row[what] = (row[what] ?? 0) + 1;
  };
  for (const c of cases) {
    const m = rss.measure(c.run);
    maxMib = Math.max(maxMib, m.mib);
    maxMs = Math.max(maxMs, m.ms);
    if (m.ms > 2000) {
      counts.hangs++;
      note('hangs', `${c.label}: ${m.ms.toFixed(0)} ms`);
    }
    if (m.mib > 256) {
      counts.memory++;
      note('memory', `${c.label}: +${m.mib} MiB`);
    }
    if ('error' in m) {
      tally(c.label, m.error instanceof NotebookError ? 'clean' : 'crash');
      if (m.error instanceof NotebookError) counts.clean++;
      else {
        dumped.push({ parser: name, label: c.label, failure: `crash: ${String(m.error)}`, ...c.input });
        counts.crashes++;
        note('crashes', `${c.label}: ${String(m.error)} ${c.show ?? ''}`);
      }
      continue;
    }
    const v = c.judge(m.value);
    tally(c.label, v);
    if (v === 'ok') counts.ok++;
    else if (v === 'silent') {
      dumped.push({ parser: name, label: c.label, failure: 'silent accept', ...c.input });
      counts.silent++;
      note('silent', `${c.label} ${c.show ?? ''}`);
    } else {
      counts.crashes++;
      dumped.push({
        parser: name,
        label: c.label,
        failure: 'crash: using the accepted report threw',
        ...c.input,
      });
      note('crashes', `${c.label}: using the accepted value threw ${c.show ?? ''}`);
    }
  }
  console.log(
    JSON.stringify({ parser: name, ...counts, maxMib, maxMs: Math.round(maxMs), byLabel, examples }),
  );
}

const rss = await RssPeak.start();
await measure('notebook-file', notebookCases(), rss);
await measure('share-link', linkCases(), rss);
await measure('report', await reportCases(), rss);
await rss.stop();
const dumpArg = process.argv.indexOf('--dump');
if (dumpArg > 0) writeFileSync(process.argv[dumpArg + 1]!, JSON.stringify(dumped, null, 1));
