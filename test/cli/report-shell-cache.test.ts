/**
 * The pieces of `sparsebook report` that need no model: the report shell is rebuilt only when a
 * source file is newer than every kept copy, and headless fetches read local files, never the
 * network.
 */
import { mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bundledUrl } from '../../app/cells/model/bundled';
import { corpusUrl } from '../../app/cells/moe-routing/moe-routing-kind';
import { PUBLIC_DIR, readLocalUrl } from '../../cli/headless-notebook';
import { reportShell, shellCacheFile } from '../../cli/report-shell-cache';

function setMtime(file: string, seconds: number) {
  utimesSync(file, seconds, seconds);
}

describe('report shell cache', () => {
  it('reuses dist or the cache while they are newer than the sources, else builds once', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'sparsebook-shell-'));
    mkdirSync(path.join(root, 'app/cells'), { recursive: true });
    const source = path.join(root, 'app/cells/x.ts');
    writeFileSync(source, 'export {};');
    setMtime(source, 1000);
    let builds = 0;
    const build = () => Promise.resolve(`shell ${++builds}`);

    expect(await reportShell({ root, build })).toMatchObject({ html: 'shell 1', from: 'built' });
    setMtime(shellCacheFile(root), 2000);
    expect(await reportShell({ root, build })).toMatchObject({ html: 'shell 1', from: 'cache' });

    mkdirSync(path.join(root, 'dist'));
    writeFileSync(path.join(root, 'dist/report-shell.html'), 'dist shell');
    setMtime(path.join(root, 'dist/report-shell.html'), 3000);
    expect(await reportShell({ root, build })).toMatchObject({ html: 'dist shell', from: 'dist' });

    setMtime(source, 4000); // an edit makes both stale
    expect(await reportShell({ root, build })).toMatchObject({ html: 'shell 2', from: 'built' });
    expect(readFileSync(shellCacheFile(root), 'utf8')).toBe('shell 2');
    expect(builds).toBe(2);
  });
});

describe('headless fetches', () => {
  const weights = path.join(PUBLIC_DIR, 'models/sparsebook-dense/config.json');
  const size = readFileSync(weights).byteLength;

  it('map app URLs, file: URLs and paths to local files', async () => {
    // Under tsx the base is './' (no import.meta.env); under vite (and vitest) it is '/'.
    for (const url of [
      bundledUrl('sparsebook-dense', 'config.json', './'),
      bundledUrl('sparsebook-dense', 'config.json', '/'),
      'models/sparsebook-dense/config.json',
      pathToFileURL(weights).href,
      weights,
    ])
      expect((await readLocalUrl(url)).byteLength).toBe(size);
    expect((await readLocalUrl(corpusUrl('code'))).byteLength).toBeGreaterThan(0);
  });

  it('refuses the network and names what is missing', async () => {
    await expect(readLocalUrl('https://example.org/model.bin')).rejects.toThrow(
      /https:\/\/example.org\/model.bin: .*does not download/,
    );
    await expect(readLocalUrl('models/none/model.bin')).rejects.toThrow(
      'models/none/model.bin: no such file',
    );
    await expect(readLocalUrl('../package.json')).rejects.toThrow(/outside the app's files/);
  });
});
