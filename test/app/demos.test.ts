/**
 * The demo gallery (public/demos, public/gallery.html): every demo notebook opens with the app's
 * parser and registry, names every param of its cells' kinds and fills every input, and the gallery
 * page links exactly the demos that exist, with their thumbnails.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { KNOWN_KINDS, kindOf } from '../../app/cells/kinds';
import { parseNotebookFile } from '../../app/notebook/notebook-file';

const publicDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../public');
const demosDir = path.join(publicDir, 'demos');
const SUFFIX = '.sparsebook.json';
const ids = readdirSync(demosDir)
  .filter((f) => f.endsWith(SUFFIX))
  .map((f) => f.slice(0, -SUFFIX.length))
  .sort();

describe('demo notebooks', () => {
  it('exist', () => {
    // Five once the moe-routing kind is registered (scripts/demo-gallery.ts leaves a demo out
    // until every kind it uses is).
    expect(ids.length).toBeGreaterThanOrEqual(4);
  });

  it.each(ids)('%s parses, with every param and input of its kinds', (id) => {
    expect(id).toMatch(/^[a-z0-9-]{1,64}$/); // what loadDemo accepts
    const doc = parseNotebookFile(readFileSync(path.join(demosDir, id + SUFFIX), 'utf8'), id + SUFFIX, {
      knownKinds: KNOWN_KINDS,
    });
    expect(doc.title).not.toBe('');
    expect(doc.cells[0]?.kind).toBe('markdown');
    for (const cell of doc.cells) {
      const kind = kindOf(cell.kind)!;
      const where = `${id}: cell ${cell.id} (${cell.kind})`;
      expect(Object.keys(cell.params), `${where} params`).toEqual(
        expect.arrayContaining(Object.keys(kind.defaults())),
      );
      for (const input of kind.inputs) {
        const ref = cell.inputs[input.role];
        expect(ref, `${where} input ${input.role}`).toBeDefined();
        const from = doc.cells.find((c) => c.id === ref)!;
        expect(input.kinds, `${where} input ${input.role} is a ${from.kind}`).toContain(from.kind);
      }
      expect(kind.waitingFor?.(cell), `${where} waits`).toBeUndefined();
    }
  });
});

describe('gallery.html', () => {
  const html = readFileSync(path.join(publicDir, 'gallery.html'), 'utf8');

  it('links exactly the demos that exist, with thumbnails that exist', () => {
    const opened = [...html.matchAll(/href="\.\/\?demo=([a-z0-9-]+)"/g)].map((m) => m[1]!);
    const onCpu = [...html.matchAll(/href="\.\/\?demo=([a-z0-9-]+)&amp;backend=cpu"/g)].map((m) => m[1]!);
    const thumbs = [...html.matchAll(/src="demos\/([a-z0-9-]+)\.png"/g)].map((m) => m[1]!);
    expect([...new Set(opened)].sort()).toEqual(ids);
    expect([...onCpu].sort()).toEqual(ids);
    expect([...thumbs].sort()).toEqual(ids);
    for (const id of ids) {
      const png = path.join(demosDir, `${id}.png`);
      expect(existsSync(png), `${id}.png`).toBe(true);
      expect(readFileSync(png).length, `${id}.png size`).toBeLessThan(80 * 1024);
    }
  });

  it('runs no script and declares its content security policy', () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    // The page is prettier-formatted: compare with whitespace collapsed.
    expect(html.replace(/\s+/g, ' ')).toMatch(
      /<meta http-equiv="Content-Security-Policy" content="default-src 'self'; style-src 'unsafe-inline' 'self'; img-src 'self' data:" ?\/?>/,
    );
  });
});
