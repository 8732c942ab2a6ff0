import { deflateSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { emptyNotebook, type NotebookDoc } from '../../../app/notebook/document';
import { NotebookError } from '../../../app/notebook/notebook-error';
import { embedCode } from '../../../app/report/embed-code';
import { embedHash, embedOptions } from '../../../app/report/page-options';
import { buildProvenance } from '../../../app/report/provenance';
import {
  decodeReport,
  encodeReport,
  frameReport,
  type ReportCell,
  type ReportData,
} from '../../../app/report/report-data';
import {
  REPORT_DATA_SLOT,
  REPORT_TITLE_SLOT,
  reportBytesFromHtml,
  reportFileName,
  reportHtml,
} from '../../../app/report/report-html';
import { arrowWithoutEval } from '../../../scripts/arrow-without-eval';

function doc(): NotebookDoc {
  return {
    ...emptyNotebook("Probe </script><script>alert(1)</script> $& $'"),
    cells: [
      { id: 'm', kind: 'markdown', params: { source: '# hi' }, inputs: {} },
      { id: 't', kind: 'text', params: { text: 'abc', name: 'x' }, inputs: {} },
      { id: 'a', kind: 'loss', params: {}, inputs: {} },
    ],
  };
}

async function data(): Promise<ReportData> {
  const shared = new Uint8Array(4096).map((_, i) => i % 251);
  const t = { key: 'k1', result: { meta: { documents: 1 }, tables: {} } };
  const a = {
    key: 'k2',
    result: {
      meta: { loss: 1.5 },
      tables: { curve: shared, copy: shared.slice(), other: new Uint8Array([1, 2, 3]) },
    },
  };
  const cells = new Map<string, ReportCell>([
    ['t', t],
    ['a', a],
  ]);
  const provenance = await buildProvenance(
    doc(),
    new Map([['t', t.result]]),
    { kind: 'cpu', description: 'CPU' },
    'app',
    new Date(0),
  );
  return { doc: doc(), cells, provenance };
}

const SHELL = `<!doctype html><html><head><title>${REPORT_TITLE_SLOT}</title></head><body>${REPORT_DATA_SLOT}</body></html>`;

describe('report data', () => {
  it('round-trips the notebook, results and provenance, storing identical tables once', async () => {
    const d = await data();
    const packed = encodeReport(d);
    const back = decodeReport(packed);
    expect(back.doc).toEqual(d.doc);
    expect(back.cells.get('a')!.key).toBe('k2');
    expect(back.cells.get('a')!.result.meta).toEqual({ loss: 1.5 });
    expect([...back.cells.get('a')!.result.tables.copy!]).toEqual([
      ...d.cells.get('a')!.result.tables.curve!,
    ]);
    expect(back.provenance.texts[0]!.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(back.provenance.createdAt).toBe('1970-01-01T00:00:00.000Z');
    // The duplicate 4 KiB table costs nothing: same packed size as a report without the copy.
    const single = structuredClone(d);
    delete single.cells.get('a')!.result.tables.copy;
    expect(Math.abs(encodeReport(single).length - packed.length)).toBeLessThan(16);
  });

  it('refuses damaged or hostile data with a message naming the report', async () => {
    const bad = (bytes: Uint8Array) => () => decodeReport(bytes);
    expect(bad(new Uint8Array([1, 2, 3]))).toThrow(NotebookError);
    expect(bad(frameReport(new Uint8Array([9, 0, 0, 0, 123])))).toThrow(/header runs past the end/);
    expect(bad(deflateSync(new Uint8Array([9, 0, 0, 0, 123])))).toThrow(
      /damaged or was made by an older Sparsebook build/,
    );
    const header = (h: object, extra = new Uint8Array()) => {
      const json = new TextEncoder().encode(JSON.stringify(h));
      const out = new Uint8Array(4 + json.length + extra.length);
      new DataView(out.buffer).setUint32(0, json.length, true);
      out.set(json, 4);
      out.set(extra, 4 + json.length);
      return frameReport(out);
    };
    const base = {
      format: 'sparsebook-report',
      version: 2,
      doc: doc(),
      provenance: (await data()).provenance,
      cells: {},
      tables: [],
    };
    expect(bad(header({ ...base, format: 'other' }))).toThrow(/not a Sparsebook report/);
    expect(bad(header({ ...base, version: 99 }))).toThrow(/newer Sparsebook/);
    expect(bad(header({ ...base, tables: [10] }))).toThrow(/table 0 runs past the end/);
    expect(bad(header({ ...base, provenance: {} }))).toThrow(/^report: provenance /);
    expect(bad(header({ ...base, cells: { zz: { key: 'k', meta: null, tables: {} } } }))).toThrow(
      /cell "zz"/,
    );
    expect(bad(header({ ...base, cells: { a: { key: 'k', meta: null, tables: { x: 3 } } } }))).toThrow(
      /table 3/,
    );
    expect(
      bad(header({ ...base, doc: { format: 'sparsebook-notebook', version: 2, title: 't', cells: 'no' } })),
    ).toThrow(/^report: /);
  });

  it("keeps the cells' answers to the selection, only for cells whose result it carries", async () => {
    const d = await data();
    const answers = new Map([
      [
        'a',
        { key: '["token loss","0|1","#2041:1f"]', value: { tokens: ['a'], dense: [null], changed: [null] } },
      ],
      ['m', { key: 'k', value: [1] }], // markdown: no result in the report, so not kept
    ]);
    const back = decodeReport(encodeReport({ ...d, answers }));
    expect([...back.answers!.keys()]).toEqual(['a']);
    expect(back.answers!.get('a')).toEqual(answers.get('a'));
    expect(decodeReport(encodeReport(d)).answers).toEqual(new Map());

    const withAnswers = (a: unknown) => {
      const json = new TextEncoder().encode(
        JSON.stringify({
          format: 'sparsebook-report',
          version: 2,
          doc: doc(),
          provenance: d.provenance,
          cells: { a: { key: 'k2', meta: null, tables: {} } },
          answers: a,
          tables: [],
        }),
      );
      const out = new Uint8Array(4 + json.length);
      new DataView(out.buffer).setUint32(0, json.length, true);
      out.set(json, 4);
      return () => decodeReport(frameReport(out));
    };
    expect(withAnswers({ a: { key: 'x', value: 1 } })().answers!.get('a')).toEqual({ key: 'x', value: 1 });
    expect(withAnswers([1])).toThrow(/answer list that is not an object/);
    expect(withAnswers({ t: { key: 'x', value: 1 } })).toThrow(/answer for cell "t", which has no result/);
    expect(withAnswers({ a: 5 })).toThrow(/cell "a"'s answer is not an object/);
    expect(withAnswers({ a: { value: 1 } })).toThrow(/cell "a"'s answer has no key/);
    expect(withAnswers({ a: { key: 'x'.repeat(2000), value: 1 } })).toThrow(/answer has no key/);
    expect(withAnswers({ a: { key: 'x' } })).toThrow(/cell "a"'s answer has no value/);
    expect(withAnswers({ a: { key: 'x', value: JSON.parse('{"__proto__": 1}') } })).toThrow(
      /cell "a"'s answer .*__proto__/,
    );
  });

  it('puts the data in the shell as inert base64url and reads it back; the title is escaped', async () => {
    const d = await data();
    const html = reportHtml(SHELL, encodeReport(d), d.doc.title);
    expect(html).not.toContain('<script>alert(1)');
    expect(html).toContain(
      '&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; $&amp; $&#39; · Sparsebook report',
    );
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(decodeReport(reportBytesFromHtml(html)).doc).toEqual(d.doc);
    expect(() => reportBytesFromHtml('<html></html>')).toThrow(/not a Sparsebook report/);
    expect(() => reportHtml('<html></html>', new Uint8Array(), 't')).toThrow(/no data slot/);
    expect(reportFileName('Find the cliff: 2:4!')).toBe('find-the-cliff-2-4.report.html');
    expect(reportFileName('???')).toBe('notebook.report.html');
  });
});

describe('embeds', () => {
  it('reads and writes the embed hash', () => {
    expect(embedOptions('#nb=abc&cell=c1&controls=0&theme=dark')).toEqual({
      cell: 'c1',
      controls: false,
      theme: 'dark',
    });
    expect(embedOptions('#cell=c1')).toEqual({ cell: 'c1', controls: true });
    expect(embedOptions('#cell=c1&theme=purple')).toEqual({ cell: 'c1', controls: true });
    expect(embedOptions('#nb=abc')).toBeUndefined();
    expect(embedOptions('#cell=%3Cimg%3E')).toBeUndefined();
    expect(embedHash({ cell: 'c1', controls: false, theme: 'light' })).toBe('cell=c1&controls=0&theme=light');
  });

  it('gives iframe and custom-element code with escaped attributes', () => {
    const live = embedCode({
      pageUrl: 'https://x.org/sb/index.html?demo=a#old',
      mode: 'live',
      shareHash: '#nb=eJy',
      cellId: 'c1',
      title: 'A "quoted" <title>',
      reportFile: 'nb.report.html',
    });
    expect(live).toContain('<iframe src="https://x.org/sb/embed.html#nb=eJy&amp;cell=c1"');
    expect(live).toContain('title="Sparsebook: A &quot;quoted&quot; &lt;title&gt;"');
    expect(live).toContain('<script type="module" src="https://x.org/sb/sparsebook-cell.js"></script>');
    expect(live).toContain('<sparsebook-cell src="nb.report.html" cell="c1"></sparsebook-cell>');
    const report = embedCode({
      pageUrl: 'file:///home/u/r.report.html',
      mode: 'report',
      cellId: 'c2',
      title: 't',
      reportFile: '',
    });
    expect(report).toContain('<iframe src="file:///home/u/r.report.html#cell=c2"');
    expect(report).toContain('<sparsebook-cell src="r.report.html" cell="c2">');
  });
});

describe('arrow without eval', () => {
  it('replaces the compiled null check by a closure with the same answers', async () => {
    const { readFileSync } = await import('node:fs');
    const id = new URL('../../../node_modules/apache-arrow/builder/valid.mjs', import.meta.url).pathname;
    const plugin = arrowWithoutEval();
    const transform = plugin.transform as (code: string, id: string) => { code: string } | null;
    const out = transform(readFileSync(id, 'utf8'), id)!;
    expect(out.code).not.toContain('new Function');
    const url = `data:text/javascript;base64,${Buffer.from(out.code.replace(/^import .*$/m, '')).toString('base64')}`;
    const { createIsValidFunction } = (await import(/* @vite-ignore */ url)) as {
      createIsValidFunction: (nulls: unknown[]) => (x: unknown) => boolean;
    };
    const isValid = createIsValidFunction([null, undefined, 'N/A', NaN, 0n]);
    expect([null, undefined, 'N/A', NaN, 0n].map(isValid)).toEqual([false, false, false, false, false]);
    expect([0, '', 'n/a', 1n, false].map(isValid)).toEqual([true, true, true, true, true]);
    expect(createIsValidFunction([])(null)).toBe(true);
    expect(transform('x', '/node_modules/other/valid.mjs')).toBeNull();
  });
});

describe('provenance', () => {
  it('shows long string params by length', async () => {
    const { paramsLine } = await import('../../../app/report/provenance');
    expect(paramsLine({ text: 'x'.repeat(5000), maxWindows: 2 })).toBe(
      '{"text":"…(5,000 characters)","maxWindows":2}',
    );
    expect(paramsLine({ name: 'short' })).toBe('{"name":"short"}');
  });
});
