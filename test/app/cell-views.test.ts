/**
 * views.ts finds each kind's view by its folder: every registered kind has exactly one
 * `app/cells/<kind>/*Cell.svelte`, and every such view belongs to a registered kind.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CELL_KINDS } from '../../app/cells/kinds';

const cells = path.resolve(import.meta.dirname, '../../app/cells');

describe('cell views by folder', () => {
  it('every kind has one *Cell.svelte in its folder, and every view folder is a kind', () => {
    const folders = readdirSync(cells).filter((f) => statSync(path.join(cells, f)).isDirectory());
    const withView = folders.filter((f) =>
      readdirSync(path.join(cells, f)).some((n) => n.endsWith('Cell.svelte')),
    );
    for (const k of CELL_KINDS) {
      const views = readdirSync(path.join(cells, k.kind)).filter((n) => n.endsWith('Cell.svelte'));
      expect(views, k.kind).toHaveLength(1);
    }
    expect(withView.sort()).toEqual(CELL_KINDS.map((k) => k.kind).sort());
  });
});
