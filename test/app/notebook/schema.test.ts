import { describe, expect, it } from 'vitest';
import { NOTEBOOK_LIMITS, NotebookError, validateNotebook } from '../../../app/notebook/schema';
import { sampleNotebook } from './persistence-fixtures';

/** The NotebookError message `validateNotebook(value)` throws. */
function problem(value: unknown, opts?: Parameters<typeof validateNotebook>[2]): string {
  try {
    validateNotebook(value, 'nb.sparsebook.json', opts);
  } catch (e) {
    expect(e).toBeInstanceOf(NotebookError);
    const err = e as NotebookError;
    expect(err.source).toBe('nb.sparsebook.json');
    expect(err.message).toBe(`nb.sparsebook.json: ${err.problem}`);
    return err.message;
  }
  throw new Error('expected validation to fail');
}

/** The sample notebook with `edit` applied to a deep copy. */
function edited(
  edit: (doc: Record<string, unknown> & { cells: Record<string, unknown>[] }) => void,
): unknown {
  const doc = structuredClone(sampleNotebook()) as unknown as Record<string, unknown> & {
    cells: Record<string, unknown>[];
  };
  edit(doc);
  return doc;
}

describe('validateNotebook', () => {
  it('accepts a valid notebook and returns an equal copy sharing nothing with the input', () => {
    const input = sampleNotebook();
    const frozen = structuredClone(input);
    const out = validateNotebook(input, 'x');
    expect(out).toEqual(input);
    expect(out).not.toBe(input);
    expect(out.cells[3]!.params).not.toBe(input.cells[3]!.params);
    expect(out.cells[3]!.params.heads).not.toBe(input.cells[3]!.params.heads);
    expect(input).toEqual(frozen);
  });

  it('does not mutate a deeply frozen input', () => {
    const deepFreeze = (v: unknown): unknown => {
      if (typeof v === 'object' && v !== null) {
        Object.values(v).forEach(deepFreeze);
        Object.freeze(v);
      }
      return v;
    };
    expect(() => validateNotebook(deepFreeze(sampleNotebook()), 'x')).not.toThrow();
  });

  it('names the cell by number and id', () => {
    const msg = problem(edited((d) => delete d.cells[2]!.kind));
    expect(msg).toBe('nb.sparsebook.json: cell 3 ("t1") has no "kind"');
  });

  it.each([
    ['null', null, 'is not a notebook (expected a JSON object, got null)'],
    ['an array', [], 'got a list'],
    ['no format', { version: 2, title: '', cells: [] }, 'no "format" field'],
    ['another format', { format: 'jupyter', version: 2, title: '', cells: [] }, 'format is "jupyter"'],
    ['no version', { format: 'sparsebook-notebook', title: '', cells: [] }, 'has no "version"'],
    [
      'a fractional version',
      { format: 'sparsebook-notebook', version: 1.5, title: '', cells: [] },
      'invalid version 1.5',
    ],
    [
      'a string version',
      { format: 'sparsebook-notebook', version: '2', title: '', cells: [] },
      'invalid version "2"',
    ],
    [
      'an old version',
      { format: 'sparsebook-notebook', version: 1, title: '', cells: [] },
      'must be migrated',
    ],
    ['no title', { format: 'sparsebook-notebook', version: 2, cells: [] }, 'has no "title"'],
    ['no cells', { format: 'sparsebook-notebook', version: 2, title: '' }, 'has no "cells" list'],
    [
      'an extra field',
      { format: 'sparsebook-notebook', version: 2, title: '', cells: [], x: 1 },
      'unknown field "x"',
    ],
  ])('refuses a document with %s', (_, value, expected) => {
    expect(problem(value)).toContain(expected);
  });

  it('refuses a future version with both version numbers', () => {
    expect(problem({ format: 'sparsebook-notebook', version: 7, title: '', cells: [] })).toBe(
      'nb.sparsebook.json: was written by a newer Sparsebook (version 7); this build reads up to 2',
    );
  });

  it.each([
    ['a non-object cell', (d: { cells: unknown[] }) => (d.cells[1] = 'x'), 'cell 2 is not an object'],
    [
      'a missing id',
      (d: { cells: Record<string, unknown>[] }) => delete d.cells[0]!.id,
      'cell 1 has no "id"',
    ],
    ['a numeric id', (d: { cells: Record<string, unknown>[] }) => (d.cells[0]!.id = 7), 'not a string'],
    [
      'an id with spaces',
      (d: { cells: Record<string, unknown>[] }) => (d.cells[0]!.id = 'a b'),
      'invalid id "a b"',
    ],
    [
      'an over-long id',
      (d: { cells: Record<string, unknown>[] }) => (d.cells[0]!.id = 'a'.repeat(65)),
      'invalid id',
    ],
    [
      'a duplicate id',
      (d: { cells: Record<string, unknown>[] }) => (d.cells[2]!.id = 'm1'),
      'cell 3 ("m1") repeats an id',
    ],
    [
      'an empty kind',
      (d: { cells: Record<string, unknown>[] }) => (d.cells[0]!.kind = ''),
      'invalid kind ""',
    ],
    ['no params', (d: { cells: Record<string, unknown>[] }) => delete d.cells[0]!.params, 'has no "params"'],
    [
      'array params',
      (d: { cells: Record<string, unknown>[] }) => (d.cells[0]!.params = []),
      '"params" that is not an object',
    ],
    ['no inputs', (d: { cells: Record<string, unknown>[] }) => delete d.cells[0]!.inputs, 'has no "inputs"'],
    [
      'an unknown cell field',
      (d: { cells: Record<string, unknown>[] }) => (d.cells[0]!.status = 'done'),
      'unknown field "status"',
    ],
  ])('refuses %s', (_, edit, expected) => {
    expect(problem(edited(edit as never))).toContain(expected);
  });

  it.each([
    ['a function', () => 1, 'param "f" is not plain JSON (function)'],
    ['undefined', undefined, 'param "f" is not plain JSON (undefined)'],
    ['NaN', NaN, 'param "f" is not a finite number (NaN)'],
    ['Infinity', Infinity, 'is not a finite number (Infinity)'],
    ['a bigint', 1n, 'not plain JSON (bigint)'],
    ['a Date', new Date(0), 'not plain JSON (an object with a class)'],
    ['a nested NaN', { a: [1, { b: NaN }] }, 'param "f.a[1].b" is not a finite number'],
    [
      'a hole in an array',
      Object.assign(new Array(3), { 0: 1, 2: 3 }),
      'param "f[1]" is not plain JSON (undefined)',
    ],
  ])('refuses a param holding %s', (_, value, expected) => {
    expect(problem(edited((d) => ((d.cells[1]!.params as Record<string, unknown>).f = value)))).toContain(
      expected,
    );
  });

  it('refuses a "__proto__" key that JSON.parse made', () => {
    const doc = edited((d) => (d.cells[1]!.params = JSON.parse('{"__proto__": {"polluted": true}}')));
    expect(problem(doc)).toContain('"__proto__"');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses params nested too deeply (no stack overflow)', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(problem(edited((d) => (d.cells[1]!.params = { deep })))).toContain('nested more than 32 levels');
  });

  it('refuses a cyclic in-memory params object', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(problem(edited((d) => (d.cells[1]!.params = cyclic)))).toContain('nested more than');
  });

  describe('inputs', () => {
    const withInputs = (inputs: unknown) => edited((d) => (d.cells[3]!.inputs = inputs));

    it('refuses a forward reference', () => {
      const doc = edited((d) => (d.cells[1]!.inputs = { text: 't1' }));
      expect(problem(doc)).toBe(
        'nb.sparsebook.json: cell 2 ("m1") input "text" refers to "t1", which is not an earlier cell',
      );
    });
    it('refuses a self reference', () => {
      expect(problem(withInputs({ model: 'v1' }))).toContain('input "model" refers to the cell itself');
    });
    it('refuses a missing cell', () => {
      expect(problem(withInputs({ model: 'nope' }))).toContain(
        'refers to "nope", which is not an earlier cell',
      );
    });
    it('refuses a non-string reference', () => {
      expect(problem(withInputs({ model: 3 }))).toContain('input "model" is not a cell id (got number)');
    });
    it('refuses an invalid role', () => {
      expect(problem(withInputs({ 'a role': 'm1' }))).toContain('invalid input role "a role"');
    });
    it('refuses inputs that are a list', () => {
      expect(problem(withInputs(['m1']))).toContain('"inputs" that is not an object (got a list)');
    });
    it('refuses a cycle (which needs a forward reference)', () => {
      const doc = edited((d) => (d.cells[1]!.inputs = { x: 'v1' }));
      expect(problem(doc)).toContain('cell 2 ("m1") input "x" refers to "v1"');
    });
  });

  describe('kinds', () => {
    const known = new Set(['markdown', 'model', 'text', 'model-view']);
    it('accepts registered kinds', () => {
      expect(validateNotebook(sampleNotebook(), 'x', { knownKinds: known }).cells).toHaveLength(4);
    });
    it('refuses an unknown kind when the registry is given', () => {
      const doc = edited((d) => (d.cells[3]!.kind = 'hologram'));
      expect(problem(doc, { knownKinds: known })).toBe(
        'nb.sparsebook.json: cell 4 ("v1") has unknown kind "hologram"',
      );
      expect(() => validateNotebook(doc, 'x')).not.toThrow();
    });
  });

  describe('limits', () => {
    it('refuses more than 500 cells', () => {
      const cells = Array.from({ length: NOTEBOOK_LIMITS.maxCells + 1 }, (_, i) => ({
        id: `c${i}`,
        kind: 'markdown',
        params: {},
        inputs: {},
      }));
      expect(problem({ format: 'sparsebook-notebook', version: 2, title: '', cells })).toContain(
        'has 501 cells; the limit is 500',
      );
    });
    it('accepts exactly 500 cells', () => {
      const cells = Array.from({ length: 500 }, (_, i) => ({
        id: `c${i}`,
        kind: 'm',
        params: {},
        inputs: {},
      }));
      expect(
        validateNotebook({ format: 'sparsebook-notebook', version: 2, title: '', cells }, 'x').cells,
      ).toHaveLength(500);
    });
    it('refuses a string over 1 MB, counting UTF-8 bytes', () => {
      const ok = 'é'.repeat((1 << 19) - 1); // 2 bytes each: just under 1 MiB
      expect(() =>
        validateNotebook(
          edited((d) => ((d.cells[0]!.params as Record<string, unknown>).source = ok)),
          'x',
        ),
      ).not.toThrow();
      const tooLong = 'é'.repeat((1 << 19) + 1);
      expect(
        problem(edited((d) => ((d.cells[0]!.params as Record<string, unknown>).source = tooLong))),
      ).toContain('cell 1 ("intro") param "source" is too long (1048578 bytes; the limit is 1048576)');
    });
    it('refuses an over-long title', () => {
      expect(problem(edited((d) => (d.title = 'x'.repeat((1 << 20) + 1))))).toContain('title is too long');
    });
    it('refuses a document whose content passes 8 MB in total', () => {
      const big = 'x'.repeat(900_000);
      const cells = Array.from({ length: 10 }, (_, i) => ({
        id: `c${i}`,
        kind: 'text',
        params: { text: big },
        inputs: {},
      }));
      expect(problem({ format: 'sparsebook-notebook', version: 2, title: '', cells })).toMatch(
        /is too large \(8\.\d MB/,
      );
    });
  });
});
