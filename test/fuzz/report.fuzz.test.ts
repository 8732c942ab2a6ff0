/**
 * Report parser fuzz (seeded, bounded): one-byte edits of a real packed report and one-character
 * edits of its text in the HTML, hostile headers in correctly checksummed frames (the shapes of
 * the reliability issue: null provenance, versions −5 and 0.5, table indices "length" or
 * "__proto__", cell ids such as "constructor"), arbitrary bytes, and crafted DEFLATE bombs. Every
 * input is refused with a clear NotebookError (source `report`), within bounded time and memory,
 * or decodes to a sound report that re-encodes to itself.
 */
import { deflateSync } from 'fflate';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProvenance } from '../../app/report/provenance';
import {
  decodeReport,
  encodeReport,
  frameReport,
  MAX_REPORT_EXPANSION,
  REPORT_EXPANSION_FLOOR,
  REPORT_VERSION,
  type ReportCell,
  type ReportData,
} from '../../app/report/report-data';
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
  hostileReportArb,
  LINK_CHARS,
  reportHeader,
  reportRaw,
} from './inputs';
import { attempt, expectSameReport, expectSoundReport, OPTS, reframeRaw } from './oracles';
import { RssPeak } from './rss-peak';

let rss: RssPeak;
let real: ReportData;
let packed: Uint8Array;
beforeAll(async () => {
  rss = await RssPeak.start();
  const doc = sampleNotebook();
  doc.cells.push({ id: 'constructor', kind: 'loss', params: {}, inputs: { model: 'm1', text: 't1' } });
  const result = {
    meta: { loss: 1.5, windows: [1, 2] },
    tables: { curve: Uint8Array.from({ length: 500 }, (_, i) => i % 7) },
  };
  const provenance = await buildProvenance(
    doc,
    new Map([['constructor', result]]),
    { kind: 'cpu', description: 'CPU' },
    'app',
    new Date(0),
  );
  real = { doc, cells: new Map<string, ReportCell>([['constructor', { key: 'k1', result }]]), provenance };
  packed = encodeReport(real);
});
afterAll(() => rss.stop());

const decode = (bytes: Uint8Array) => attempt(rss, 'report', () => decodeReport(bytes, OPTS));
/** Raw report bytes framed as this build frames them (header version set to the current one). */
const framed = (header: Record<string, unknown>, tail: Uint8Array = new Uint8Array()) =>
  reframeRaw(reportRaw({ ...header, version: header.version === 1 ? REPORT_VERSION : header.version }, tail));

describe('report fuzz', () => {
  it('a real report round-trips, its "constructor" cell keeping its result', () => {
    const out = decode(packed);
    expect('value' in out).toBe(true);
    if ('value' in out) {
      expectSameReport(out.value, real);
      expectSoundReport(out.value);
      expect(out.value.cells.get('constructor')!.key).toBe('k1');
      expect(out.value.cells.get('toString')).toBeUndefined();
    }
  });

  it('refuses every one-byte edit of a real packed report', () => {
    for (const e of fc.sample(editArb(BYTE_CHARS), { seed: FUZZ_SEED, numRuns: 600 })) {
      const out = decode(applyByteEdit(packed, e));
      expect('error' in out, `${e.op} at ${e.at}`).toBe(true);
    }
  });

  it('refuses every one-character edit of the report data in its HTML clearly, or reads the original', () => {
    const html = reportHtml(`<title>Sparsebook report</title>${REPORT_DATA_SLOT}`, packed, 't');
    const start = html.indexOf('>', html.indexOf('sparsebook-report-data')) + 1;
    const end = html.indexOf('</script>', start);
    for (const e of fc.sample(editArb(LINK_CHARS), { seed: FUZZ_SEED, numRuns: 500 })) {
      const at = start + Math.floor(e.at * (end - start));
      const edited = applyEdit(html.slice(start, end), { ...e, at: (at - start) / (end - start) });
      const out = attempt(rss, 'report', () =>
        decodeReport(reportBytesFromHtml(html.slice(0, start) + edited + html.slice(end)), OPTS),
      );
      if ('value' in out) expectSameReport(out.value, real);
    }
  });

  it('refuses hostile headers clearly, or decodes them soundly', () => {
    fc.assert(
      fc.property(hostileReportArb(), ({ header, tail }) => {
        const h = { ...header, version: header.version === 1 ? REPORT_VERSION : header.version };
        const out = decode(framed(h, tail));
        if ('value' in out) expectSoundReport(out.value, h);
      }),
      { seed: FUZZ_SEED, numRuns: 400, interruptAfterTimeLimit: 5000 },
    );
  });

  it('refuses arbitrary bytes, framed or not, clearly', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 400 }),
      fc.uint8Array({ maxLength: 400 }).map((b) => craftFrame(b, b.length * 3)),
      fc.tuple(fc.uint8Array({ maxLength: 400 }), fc.nat()).map(([b, n]) => craftFrame(deflateSync(b), n)),
      fc.uint8Array({ maxLength: 400 }).map((b) => frameReport(b)),
      fc.uint8Array({ maxLength: 400 }).map((b) => frameReport(Uint8Array.of(b.length, 0, 0, 0, ...b, 1, 2))),
    );
    fc.assert(
      fc.property(bytes, (b) => {
        const out = decode(b);
        if ('value' in out) expectSoundReport(out.value);
      }),
      { seed: FUZZ_SEED, numRuns: 400, interruptAfterTimeLimit: 3000 },
    );
  });

  describe('refuses the issue’s inputs with a clear message', () => {
    const base = () => reportHeader(docWithIds(['a', 'b', 'c']));
    const refusal = (bytes: Uint8Array) => {
      const out = decode(bytes);
      return 'error' in out ? out.error.message : 'accepted';
    };
    it('provenance null (a TypeError outside the try before)', () => {
      const tail = Uint8Array.of(1, 2, 3);
      expect(refusal(framed({ ...base(), provenance: null }, tail))).toBe(
        'report: provenance is missing or not an object (got null)',
      );
      expect(refusal(framed({ ...base(), provenance: undefined }, tail))).toBe(
        'report: provenance is missing or not an object (got nothing)',
      );
      expect(
        refusal(framed({ ...base(), provenance: { ...(base().provenance as object), backend: null } }, tail)),
      ).toBe('report: provenance backend is missing or not an object (got null)');
    });
    it.each([[-5], [0.5], [0], ['2'], [1e9]])('version %j', (version) => {
      expect(refusal(framed({ ...base(), version }, Uint8Array.of(1, 2, 3)))).toMatch(
        /^report: (report header has an invalid version|report header says version|was written by a newer)/,
      );
    });
    it.each([['length'], ['constructor'], ['__proto__'], ['toString'], [-1], [1.5], ['0']])(
      'table index %j',
      (index) => {
        const h = base();
        (h.cells as Record<string, { tables: unknown }>).b!.tables = { t: index };
        expect(refusal(framed(h, Uint8Array.of(1, 2, 3)))).toMatch(
          /^report: cell "b" refers to table .*, which the report does not hold$/,
        );
      },
    );
    it('cell ids named after Object.prototype keep their results, and absent ones read as absent', () => {
      const h = reportHeader(docWithIds(['x', '__proto__', 'constructor', 'toString']));
      const out = decode(framed(h, Uint8Array.of(1, 2, 3)));
      expect('value' in out).toBe(true);
      if (!('value' in out)) return;
      expect([...out.value.cells.keys()].sort()).toEqual(['__proto__', 'constructor', 'toString']);
      expect(out.value.cells.get('__proto__')!.key).toBe('k-__proto__');
      expect(out.value.cells.get('x')).toBeUndefined();
      expect(out.value.cells.get('hasOwnProperty')).toBeUndefined();
      expectSoundReport(out.value, h);
    });
    it('a DEFLATE bomb in a frame with a correct checksum, before inflating it', () => {
      // The frame declares the inflated size; past the floor it may be at most 64× the packed size.
      const zeros = deflateSync(new Uint8Array(1 << 20), { level: 9 });
      expect(refusal(craftFrame(zeros, 500_000_000))).toMatch(/more than 64× expansion; refused$/);
      expect(refusal(craftFrame(zeros, 1 << 10))).toMatch(/^report: report data runs past the 1024 bytes/);
      // A valid header declaring a 64 MiB table of zeros (2 MiB of them present).
      const h = { ...base(), version: REPORT_VERSION, tables: [64 << 20] };
      const bomb = deflateSync(reportRaw(h, new Uint8Array(2 << 20)), { level: 9 });
      expect(refusal(craftFrame(bomb, 4 + JSON.stringify(h).length + (64 << 20)))).toMatch(
        /expansion; refused$/,
      );
      // The same under a frame that declares less: refused once the header is read, before the table.
      expect(refusal(craftFrame(bomb, REPORT_EXPANSION_FLOOR))).toBe(
        'report: table 0 runs past the end of the data',
      );
    });
  });

  it('writes a report that compresses past the expansion bound uncompressed, so it reads back', () => {
    const size = REPORT_EXPANSION_FLOOR + (1 << 20);
    const data: ReportData = {
      ...real,
      cells: new Map([
        ['constructor', { key: 'k', result: { meta: null, tables: { zeros: new Uint8Array(size) } } }],
      ]),
    };
    const bytes = encodeReport(data);
    expect(bytes.length * MAX_REPORT_EXPANSION).toBeGreaterThan(size);
    const out = decode(bytes);
    expect('value' in out && out.value.cells.get('constructor')!.result.tables.zeros!.length).toBe(size);
  });
});
