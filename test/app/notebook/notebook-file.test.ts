import { describe, expect, it } from 'vitest';
import {
  MAX_NOTEBOOK_FILE_CHARS,
  NOTEBOOK_FILE_EXTENSION,
  notebookFileName,
  parseJson,
  parseNotebookFile,
  serializeNotebook,
} from '../../../app/notebook/notebook-file';
import { NotebookError } from '../../../app/notebook/notebook-error';
import { sampleNotebook } from './persistence-fixtures';

function thrown(f: () => unknown): NotebookError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(NotebookError);
    return e as NotebookError;
  }
  throw new Error('expected a NotebookError');
}

describe('serializeNotebook', () => {
  it('writes 2-space JSON with a trailing newline that parses back to the same notebook', () => {
    const text = serializeNotebook(sampleNotebook());
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.split('\n')[1]).toBe('  "format": "sparsebook-notebook",');
    expect(parseNotebookFile(text, 'a.sparsebook.json')).toEqual(sampleNotebook());
  });

  it('writes keys in a stable order whatever order the document was built in', () => {
    const doc = sampleNotebook();
    const shuffled = {
      cells: doc.cells.map((c) => ({
        inputs: Object.fromEntries(Object.entries(c.inputs).reverse()),
        params: Object.fromEntries(Object.entries(c.params).reverse()),
        kind: c.kind,
        id: c.id,
      })),
      title: doc.title,
      version: doc.version,
      format: doc.format,
    };
    expect(serializeNotebook(shuffled)).toBe(serializeNotebook(doc));
    const keys = [...serializeNotebook(doc).matchAll(/^ {6}"(\w+)":/gm)].map((m) => m[1]);
    expect(keys.slice(0, 4)).toEqual(['id', 'kind', 'params', 'inputs']);
  });

  it('is stable across a parse/serialize round trip (byte for byte)', () => {
    const once = serializeNotebook(sampleNotebook());
    expect(serializeNotebook(parseNotebookFile(once, 'x'))).toBe(once);
  });
});

describe('parseNotebookFile', () => {
  it('reports a JSON syntax error with the file name, line and column', () => {
    const text = '{\n  "format": "sparsebook-notebook",\n  "version": 2,\n  title: "x"\n}';
    const err = thrown(() => parseNotebookFile(text, 'broken.sparsebook.json'));
    expect(err.source).toBe('broken.sparsebook.json');
    expect(err.message).toMatch(/^broken\.sparsebook\.json: not valid JSON at line 4, column 3 \(.+\)$/);
  });

  it('reports truncation (a file cut short)', () => {
    const text = serializeNotebook(sampleNotebook());
    const err = thrown(() => parseNotebookFile(text.slice(0, 100), 'cut.json'));
    expect(err.message).toMatch(/^cut\.json: not valid JSON/);
  });

  it('reports an empty file as empty', () => {
    expect(thrown(() => parseNotebookFile('  \n', 'empty.json')).message).toBe('empty.json: is empty');
  });

  it('accepts a byte-order mark', () => {
    expect(parseNotebookFile('\ufeff' + serializeNotebook(sampleNotebook()), 'bom.json').title).toBe(
      sampleNotebook().title,
    );
  });

  it('migrates a version-1 file', () => {
    const v1 = {
      format: 'sparsebook-notebook',
      version: 1,
      title: 'Old',
      cells: [{ id: 'a', type: 'markdown', source: 'hi', params: {}, dependsOn: [] }],
    };
    expect(parseNotebookFile(JSON.stringify(v1), 'old.json').cells).toEqual([
      { id: 'a', kind: 'markdown', params: { source: 'hi' }, inputs: {} },
    ]);
  });

  it('refuses a future version and a schema error with the file name', () => {
    const future = JSON.stringify({ ...sampleNotebook(), version: 9 });
    expect(thrown(() => parseNotebookFile(future, 'f.json')).message).toBe(
      'f.json: was written by a newer Sparsebook (version 9); this build reads up to 2',
    );
    const bad = JSON.stringify({ ...sampleNotebook(), cells: [{ id: 'x', kind: 'text', params: {} }] });
    expect(thrown(() => parseNotebookFile(bad, 'b.json')).message).toBe(
      'b.json: cell 1 ("x") has no "inputs"',
    );
  });

  it('refuses unknown kinds when given the registry', () => {
    const text = serializeNotebook(sampleNotebook());
    expect(() => parseNotebookFile(text, 'k.json', { knownKinds: new Set(['markdown']) })).toThrow(
      'k.json: cell 2 ("m1") has unknown kind "model"',
    );
  });

  it('refuses a file too large to be a notebook before parsing it', () => {
    const err = thrown(() => parseNotebookFile(' '.repeat(MAX_NOTEBOOK_FILE_CHARS + 1), 'huge.json'));
    expect(err.problem).toMatch(/^is too large to be a notebook/);
  });
});

describe('parseJson', () => {
  it('locates the error itself and never quotes the file back', () => {
    expect(() => parseJson('[1,\n2,\n]', 'p.json')).toThrow(
      'p.json: not valid JSON at line 3, column 1 (unexpected "]")',
    );
    expect(() => parseJson('{"a": "secret', 'p.json')).toThrow(
      'p.json: not valid JSON at line 1, column 14 (unexpected end of text)',
    );
  });
});

describe('notebookFileName', () => {
  it.each([
    ['Attention in Café #2', 'attention-in-cafe-2'],
    ['  --Hello,   World!--  ', 'hello-world'],
    ['', 'notebook'],
    ['🚀🚀', 'notebook'],
    ['x'.repeat(100), 'x'.repeat(64)],
  ])('%j → %s', (title, slug) => {
    expect(notebookFileName(title)).toBe(slug + NOTEBOOK_FILE_EXTENSION);
  });
});
