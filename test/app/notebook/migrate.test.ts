import { describe, expect, it } from 'vitest';
import { NOTEBOOK_VERSION } from '../../../app/notebook/document';
import { loadNotebookValue, MIGRATIONS, migrateNotebook, v1ToV2 } from '../../../app/notebook/migrate';
import { NotebookError } from '../../../app/notebook/notebook-error';

const fail = (problem: string): never => {
  throw new NotebookError('test', problem);
};

/** A version-1 (first draft) notebook: `type`, `dependsOn`, markdown `source` at the top level. */
function v1Notebook() {
  return {
    format: 'sparsebook-notebook',
    version: 1,
    title: 'Draft',
    cells: [
      { id: 'md', type: 'markdown', source: '# Hello', params: {}, dependsOn: [] },
      { id: 'm', type: 'model', params: { url: 'x.bin' }, dependsOn: [] },
      { id: 't', type: 'text', params: { text: 'hi' }, dependsOn: [] },
      { id: 'v', type: 'model-view', params: { layer: 1 }, dependsOn: ['m', 't'] },
      { id: 'm2', type: 'model', params: {} },
      { id: 'cmp', type: 'compare', params: {}, dependsOn: ['m', 'm2', 't', 'v', 'v'] },
    ],
  };
}

describe('MIGRATIONS', () => {
  it('has a step from every older version to the current one', () => {
    for (let v = 1; v < NOTEBOOK_VERSION; v++) expect(MIGRATIONS[v], `step ${v}`).toBeTypeOf('function');
    expect(Object.isFrozen(MIGRATIONS)).toBe(true);
  });
});

describe('v1ToV2', () => {
  it('renames type to kind, moves markdown source into params and names inputs', () => {
    const out = v1ToV2(v1Notebook(), fail);
    expect(out).toEqual({
      format: 'sparsebook-notebook',
      version: 2,
      title: 'Draft',
      cells: [
        { id: 'md', kind: 'markdown', params: { source: '# Hello' }, inputs: {} },
        { id: 'm', kind: 'model', params: { url: 'x.bin' }, inputs: {} },
        { id: 't', kind: 'text', params: { text: 'hi' }, inputs: {} },
        { id: 'v', kind: 'model-view', params: { layer: 1 }, inputs: { model: 'm', text: 't' } },
        { id: 'm2', kind: 'model', params: {}, inputs: {} },
        // Two model dependencies: neither can be "the" model, so both are positional; duplicates drop.
        { id: 'cmp', kind: 'compare', params: {}, inputs: { in0: 'm', in1: 'm2', text: 't', in2: 'v' } },
      ],
    });
  });

  it('does not mutate its input', () => {
    const input = v1Notebook();
    const copy = structuredClone(input);
    v1ToV2(input, fail);
    expect(input).toEqual(copy);
  });

  it('keeps an explicit params.source over the top-level one', () => {
    const doc = {
      ...v1Notebook(),
      cells: [{ id: 'a', type: 'markdown', source: 'old', params: { source: 'new' } }],
    };
    expect((v1ToV2(doc, fail).cells as { params: unknown }[])[0]!.params).toEqual({ source: 'new' });
  });

  it('leaves a top-level source on a non-markdown cell for the validator to refuse', () => {
    const doc = { ...v1Notebook(), cells: [{ id: 't', type: 'text', source: 'x', params: {} }] };
    expect(() => loadNotebookValue(doc, 'old.json')).toThrow(
      'old.json: cell 1 ("t") has an unknown field "source"',
    );
  });

  it('names a role positionally when the dependency is of another type', () => {
    const doc = {
      ...v1Notebook(),
      cells: [
        { id: 'a', type: 'markdown', params: {} },
        { id: 'b', type: 'markdown', params: {}, dependsOn: ['a'] },
      ],
    };
    expect((v1ToV2(doc, fail).cells as { inputs: unknown }[])[1]!.inputs).toEqual({ in0: 'a' });
  });

  it.each([
    ['a cell without type', [{ id: 'a', params: {} }], 'cell 1 ("a") has no "type"'],
    [
      'dependsOn that is not a list',
      [{ id: 'a', type: 'text', dependsOn: 'b' }],
      '"dependsOn" that is not a list',
    ],
    [
      'params that are not an object',
      [{ id: 'a', type: 'text', params: 3 }],
      '"params" that is not an object',
    ],
  ])('refuses %s', (_, cells, expected) => {
    expect(() => v1ToV2({ ...v1Notebook(), cells }, fail)).toThrow(expected);
  });
});

describe('migrateNotebook', () => {
  it('migrates version 1 step by step to the current version', () => {
    const out = migrateNotebook(v1Notebook(), 'old.json');
    expect(out.version).toBe(NOTEBOOK_VERSION);
  });

  it('returns a current-version document as it is', () => {
    const doc = { format: 'sparsebook-notebook', version: 2, title: '', cells: [] };
    expect(migrateNotebook(doc)).toBe(doc);
  });

  it('renames the old kv-magnitude family (token eviction) to kv-norm-evict in mask and sweep cells', () => {
    const doc = {
      format: 'sparsebook-notebook',
      version: 2,
      title: '',
      cells: [
        { id: 'a', kind: 'attention-mask', params: { family: 'kv-magnitude', budget: 0.3 }, inputs: {} },
        { id: 's', kind: 'attention-sweep', params: { families: ['topk', 'kv-magnitude'] }, inputs: {} },
        { id: 'o', kind: 'markdown', params: { source: 'kv-magnitude', family: 'kv-magnitude' }, inputs: {} },
      ],
    };
    const out = migrateNotebook(doc, 'old.json') as { cells: { params: Record<string, unknown> }[] };
    expect(out.cells[0]!.params).toEqual({ family: 'kv-norm-evict', budget: 0.3 });
    expect(out.cells[1]!.params.families).toEqual(['topk', 'kv-norm-evict']);
    expect(out.cells[2]).toBe(doc.cells[2]); // other kinds are left alone
    expect(doc.cells[0]!.params.family).toBe('kv-magnitude'); // the input is not mutated
  });

  it('refuses a document with no version, naming the versions it reads', () => {
    const { version: _, ...noVersion } = v1Notebook();
    expect(() => migrateNotebook(noVersion, 'old.json')).toThrow(
      'old.json: has no "version"; this build reads versions 1 to 2',
    );
  });

  it('refuses a future version', () => {
    expect(() => migrateNotebook({ ...v1Notebook(), version: 7 }, 'new.json')).toThrow(
      'new.json: was written by a newer Sparsebook (version 7); this build reads up to 2',
    );
  });

  it.each([
    ['a non-object', 'hello', 'is not a notebook'],
    ['a missing format marker', { version: 1, cells: [] }, 'is not a Sparsebook notebook'],
    ['version 0', { format: 'sparsebook-notebook', version: 0, cells: [] }, 'invalid version 0'],
  ])('refuses %s', (_, value, expected) => {
    expect(() => migrateNotebook(value, 'x')).toThrow(expected);
  });
});

describe('loadNotebookValue', () => {
  it('migrates and validates a version-1 document into a NotebookDoc', () => {
    const doc = loadNotebookValue(v1Notebook(), 'old.json');
    expect(doc.version).toBe(2);
    expect(doc.cells.map((c) => c.kind)).toEqual([
      'markdown',
      'model',
      'text',
      'model-view',
      'model',
      'compare',
    ]);
  });

  it('reports schema problems of a migrated document in current terms', () => {
    const doc = { ...v1Notebook(), cells: [{ id: 'a', type: 'text', params: {}, dependsOn: ['later'] }] };
    expect(() => loadNotebookValue(doc, 'old.json')).toThrow(
      'old.json: cell 1 ("a") input "in0" refers to "later", which is not an earlier cell',
    );
  });

  it('applies the known-kinds check after migration', () => {
    expect(() => loadNotebookValue(v1Notebook(), 'old.json', { knownKinds: new Set(['markdown']) })).toThrow(
      'cell 2 ("m") has unknown kind "model"',
    );
  });
});
