/**
 * Typed cell kinds (app/cells/cell-kind.ts defineCellKind, analyses/options.ts): params parsed once
 * before the run, so an invalid param in a loaded notebook fails the cell with its name, a missing
 * one takes its default, and inputs reach the run parsed by the upstream kind's schema.
 */
import { describe, expect, it } from 'vitest';
import { MASK_OPTIONS } from '../../../analyses/attention/catalogue';
import { option, optionSchema } from '../../../analyses/options';
import type { CellServices, RunContext } from '../../../app/cells/cell-kind';
import { generateKind } from '../../../app/cells/generate/generate-kind';
import { CELL_KINDS } from '../../../app/cells/kinds';
import { modelKind } from '../../../app/cells/model/model-kind';
import type { CellDoc } from '../../../app/notebook/document';

function context(cell: CellDoc, generate: (r: unknown) => unknown): RunContext {
  return {
    cell,
    inputs: {
      model: {
        cell: { id: 'm', kind: 'model', params: modelKind.defaults(), inputs: {} },
        result: { meta: { key: 'the-model' }, tables: {} },
      },
    },
    signal: new AbortController().signal,
    progress: () => undefined,
    partial: () => undefined,
    waitIfPaused: async () => undefined,
    services: { runtime: { generate: async (r: unknown) => generate(r) } } as unknown as CellServices,
  };
}

describe('typed cell kinds', () => {
  it('fail a cell whose saved param is invalid, naming the param and the value', async () => {
    const cell: CellDoc = {
      id: 'g',
      kind: 'generate',
      params: { ...generateKind.defaults(), steps: 'many' },
      inputs: {},
    };
    await expect(generateKind.run!(context(cell, () => ({})))).rejects.toThrow(
      /^steps: expected an integer in \[1, 512\], got "many"$/,
    );
    cell.params.steps = 2.5;
    await expect(generateKind.run!(context(cell, () => ({})))).rejects.toThrow(/steps: expected an integer/);
  });

  it('run with defaults for params a notebook saved before they existed, typed', async () => {
    let sent: unknown;
    const cell: CellDoc = { id: 'g', kind: 'generate', params: { prompt: 'Once' }, inputs: {} };
    const r = await generateKind.run!(
      context(cell, (req) => {
        sent = req;
        return { summary: { text: ' upon', tokens: 1 }, tables: {} };
      }),
    );
    expect(sent).toEqual({ prompt: 'Once', steps: 64, temperature: 0, seed: 42 });
    expect(r.meta).toMatchObject({ prompt: 'Once', text: ' upon' });
  });

  it('name a missing input instead of reading undefined', async () => {
    const cell: CellDoc = { id: 'g', kind: 'generate', params: {}, inputs: {} };
    const ctx = { ...context(cell, () => ({})), inputs: {} };
    await expect(generateKind.run!(ctx)).rejects.toThrow(/the model input is not connected/);
  });

  it('read invalid params as defaults for views, and wait on valid ones only', () => {
    const cell: CellDoc = { id: 'm', kind: 'model', params: { source: 'files', files: 'nope' }, inputs: {} };
    expect(modelKind.paramsOf(cell).files).toEqual([]);
    expect(modelKind.waitingFor!(cell)).toBeUndefined(); // the run reports `files`
    cell.params.files = [];
    expect(modelKind.waitingFor!(cell)).toBe('pick a model and its tokenizer');
  });

  it('declare every param in a schema whose defaults parse', () => {
    for (const kind of CELL_KINDS) {
      const defaults = kind.defaults();
      expect(
        () => ('params' in kind ? (kind.params as typeof MASK_OPTIONS).parse(defaults) : defaults),
        kind.kind,
      ).not.toThrow();
    }
  });
});

describe('option schemas', () => {
  const schema = optionSchema({
    n: option.integer(3, { min: 1, max: 9 }),
    xs: option.numbers([0.5], { min: 0, max: 1, minItems: 1 }),
    pick: option.choices(['a', 'b', 'c'] as const, ['a']),
  });

  it('parse lists typed as text, keep choices in catalogue order and drop unknown keys', () => {
    expect(schema.parse({ n: '4', xs: '0.1, 0.2', pick: ['c', 'a'], extra: 1 })).toEqual({
      n: 4,
      xs: [0.1, 0.2],
      pick: ['a', 'c'],
    });
  });

  it('refuse non-finite numbers, out-of-range items and empty lists, by name', () => {
    expect(() => schema.parse({ n: Infinity })).toThrow(/^n: expected an integer in \[1, 9\], got null$/);
    expect(() => schema.parse({ xs: [0.5, 2] })).toThrow(/^xs\[1\]: expected a number in \[0, 1\], got 2$/);
    expect(() => schema.parse({ xs: [] })).toThrow(/^xs: give at least 1 value$/);
    expect(() => schema.parse({ pick: ['d'] })).toThrow(/^pick: expected items among a, b, c, got "d"$/);
    expect(schema.read({ n: 'x', xs: [0.2] })).toEqual({ n: 3, xs: [0.2], pick: ['a'] });
  });

  it('hand out fresh defaults', () => {
    const a = schema.defaults();
    a.xs.push(1);
    expect(schema.defaults().xs).toEqual([0.5]);
  });
});
