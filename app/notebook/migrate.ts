/**
 * Migration of older notebook documents to the current version, one step at a time. A step takes a
 * version-n document (already parsed JSON, not yet trusted) and returns a version n+1 one; the
 * result of the last step is validated by schema.ts. Steps never mutate their input.
 *
 * Optional additions need no step: `selection` (the notebook's selected token, selection.ts) joined
 * version 2 as an optional field, so every earlier version-2 document is valid as it is; a build
 * from before it refuses a document with a selection as having an unknown field.
 *
 * Adding version 3: write `v2ToV3`, add `2: v2ToV3` to MIGRATIONS, bump NOTEBOOK_VERSION, and add a
 * test that a version-2 fixture opens.
 */

import { NOTEBOOK_FORMAT, NOTEBOOK_VERSION, type NotebookDoc } from './document';
import { isPlainObject } from './json-copy';
import { NotebookError } from './notebook-error';
import { checkVersion, validateNotebook, type ValidateOptions } from './schema';

/** One migration step: version n → n + 1. `fail` throws a NotebookError naming the source. */
export type Migration = (
  doc: Record<string, unknown>,
  fail: (problem: string) => never,
) => Record<string, unknown>;

/**
 * Version 1, the first draft format:
 * `{format, version: 1, title, cells: [{id, type, params, dependsOn: string[], source?}]}`.
 * `type` becomes `kind`; a markdown cell's top-level `source` moves into `params.source`; the
 * positional `dependsOn` list becomes named `inputs`. A dependency gets the role `model` (or `text`)
 * when it is the cell's only dependency on a cell of that type, which is how the current kinds name
 * them; every other dependency gets `in0`, `in1`, … in list order. Duplicates are dropped.
 *
 * @example
 * v1ToV2({ format: 'sparsebook-notebook', version: 1, title: 'T', cells: [
 *   { id: 'm', type: 'model', params: {}, dependsOn: [] },
 *   { id: 'v', type: 'model-view', params: {}, dependsOn: ['m'] },
 * ] }, fail).cells[1]; // { id: 'v', kind: 'model-view', params: {}, inputs: { model: 'm' } }
 */
export const v1ToV2: Migration = (doc, fail) => {
  if (!Array.isArray(doc.cells)) fail('has no "cells" list');
  const cells = doc.cells as unknown[];
  const typeOf = new Map<unknown, unknown>();
  for (const c of cells) if (isPlainObject(c)) typeOf.set(c.id, c.type);

  const migrated = cells.map((c, i) => {
    if (!isPlainObject(c)) return c; // left for the validator to report in current terms
    const where = `cell ${i + 1}${typeof c.id === 'string' ? ` (${JSON.stringify(c.id)})` : ''}`;
    const { type, dependsOn = [], params = {}, ...rest } = c;
    if (typeof type !== 'string') fail(`${where} has no "type"`);
    if (!Array.isArray(dependsOn)) fail(`${where} has a "dependsOn" that is not a list`);
    if (!isPlainObject(params)) fail(`${where} has "params" that is not an object`);
    const deps = [...new Set(dependsOn as unknown[])];
    const inputs: Record<string, unknown> = {};
    let generic = 0;
    for (const dep of deps) {
      const depType = typeOf.get(dep);
      const named =
        (depType === 'model' || depType === 'text') &&
        deps.filter((d) => typeOf.get(d) === depType).length === 1;
      inputs[named ? (depType as string) : `in${generic++}`] = dep;
    }
    const nextParams: Record<string, unknown> = { ...(params as Record<string, unknown>) };
    // Only markdown had a top-level `source`; on any other type it stays put and is refused by
    // the validator as an unknown field rather than silently dropped.
    if (type === 'markdown' && 'source' in rest) {
      const { source, ...others } = rest;
      if (!('source' in nextParams)) nextParams.source = source;
      return { ...others, kind: type, params: nextParams, inputs };
    }
    return { ...rest, kind: type, params: nextParams, inputs };
  });
  return { ...doc, version: 2, cells: migrated };
};

/** Renamed mask families: the old id → the current one. */
const RENAMED_MASK_FAMILIES: Readonly<Record<string, string>> = Object.freeze({
  // 'kv-magnitude' was labelled Mustafar but evicted whole tokens by ‖k‖; that family is now
  // 'kv-norm-evict', and 'mustafar' prunes K and V elements (analyses/attention/masks).
  'kv-magnitude': 'kv-norm-evict',
});

/**
 * Renamed choices inside a current-version document (no version bump: the document's shape is
 * unchanged, only a value was renamed). An attention-mask cell's `family` and an attention-sweep
 * cell's `families` get the new ids, so a notebook saved with the old name reopens measuring the
 * same thing. Anything that is not the expected shape is left for the validator.
 *
 * @example
 * renameChoices({ …, cells: [{ id: 'a', kind: 'attention-mask', params: { family: 'kv-magnitude' }, inputs: {} }] })
 *   .cells[0].params.family; // 'kv-norm-evict'
 */
export function renameChoices(doc: Record<string, unknown>): Record<string, unknown> {
  if (!Array.isArray(doc.cells)) return doc;
  const renamed = (f: unknown) => typeof f === 'string' && f in RENAMED_MASK_FAMILIES;
  const rename = (f: unknown) => (renamed(f) ? RENAMED_MASK_FAMILIES[f as string] : f);
  let changed = false;
  const cells = doc.cells.map((c: unknown) => {
    if (!isPlainObject(c) || !isPlainObject(c.params)) return c;
    const params = c.params as Record<string, unknown>;
    if (c.kind === 'attention-mask' && renamed(params.family)) {
      changed = true;
      return { ...c, params: { ...params, family: rename(params.family) } };
    }
    if (c.kind === 'attention-sweep' && Array.isArray(params.families) && params.families.some(renamed)) {
      changed = true;
      return { ...c, params: { ...params, families: params.families.map(rename) } };
    }
    return c;
  });
  // An untouched document is returned as it is (callers may compare identity).
  return changed ? { ...doc, cells } : doc;
}

/** The registry: `MIGRATIONS[n]` turns a version-n document into version n + 1. */
export const MIGRATIONS: Readonly<Record<number, Migration>> = Object.freeze({ 1: v1ToV2 });

/**
 * Bring a parsed document of any supported version up to the current version, step by step.
 * It checks only what migration needs (object, format marker, version); the result still has to
 * be validated, which {@link loadNotebookValue} does. Throws NotebookError for a missing or future
 * version.
 *
 * @example
 * const current = migrateNotebook(JSON.parse(text), 'old.sparsebook.json'); // version 2 shape, unvalidated
 */
export function migrateNotebook(raw: unknown, source = 'notebook'): Record<string, unknown> {
  const fail = (problem: string): never => {
    throw new NotebookError(source, problem);
  };
  if (!isPlainObject(raw)) fail('is not a notebook (expected a JSON object)');
  let doc = raw as Record<string, unknown>;
  if (doc.format !== NOTEBOOK_FORMAT) {
    fail(`is not a Sparsebook notebook (no "format": "${NOTEBOOK_FORMAT}" marker)`);
  }
  checkVersion(doc.version, fail);
  for (let v = doc.version as number; v < NOTEBOOK_VERSION; v++) {
    const step = MIGRATIONS[v];
    if (!step) fail(`is version ${v}, which this build cannot migrate`);
    doc = step!(doc, fail);
    if (doc.version !== v + 1)
      throw new Error(`migration from version ${v} did not produce version ${v + 1}`);
  }
  return renameChoices(doc);
}

/**
 * Migrate then validate: the one way to turn untrusted parsed JSON into a NotebookDoc.
 *
 * @example
 * const doc = loadNotebookValue(JSON.parse(text), 'notes.sparsebook.json', { knownKinds });
 */
export function loadNotebookValue(raw: unknown, source: string, opts: ValidateOptions = {}): NotebookDoc {
  return validateNotebook(migrateNotebook(raw, source), source, opts);
}
