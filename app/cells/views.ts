/**
 * Each cell kind's view component, found by its folder: `app/cells/<kind>/<Name>Cell.svelte` is the
 * view of kind `<kind>` (the kind definitions themselves are listed in kinds.ts). A new kind's
 * folder brings its view with it; no line to add here.
 */
import type { Component } from 'svelte';
import type { CellDoc } from '../notebook/document';
import type { CellContext } from '../state/cell-context';

export type CellView = Component<{ nb: CellContext; cell: CellDoc }>;

const modules = import.meta.glob<{ default: CellView }>('./*/*Cell.svelte', { eager: true });

function byFolder(found: Record<string, { default: CellView }>): Record<string, CellView> {
  const out: Record<string, CellView> = {};
  for (const [file, mod] of Object.entries(found)) {
    const kind = /^\.\/([^/]+)\//.exec(file)![1]!;
    if (out[kind]) throw new Error(`app/cells/${kind}/ has two *Cell.svelte views`);
    out[kind] = mod.default;
  }
  return out;
}

export const CELL_VIEWS: Readonly<Record<string, CellView>> = Object.freeze(byFolder(modules));
