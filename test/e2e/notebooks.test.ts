/**
 * Nothing the user made is lost, end to end in headless Chromium (built app, real IndexedDB and
 * Web Locks): a link or a demo opens as a new notebook and the user's own stays in the Notebooks
 * list, intact; an unreadable saved notebook is kept byte for byte while a new one is used; two
 * tabs on one notebook do not overwrite each other; an edit made just before the tab closes is
 * saved by the pagehide flush. None of this needs the model, so nothing waits for the backend.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { NotebookDoc } from '../../app/notebook/document';
import { encodeShareHash } from '../../app/notebook/share-link';
import { cells, newAppContext, openPage, screenshot, useApp } from './app-server';

const session = useApp();

async function newContext(): Promise<BrowserContext> {
  return newAppContext(session.app);
}

/** Wait until the open notebook is stored (the toolbar says Saved). */
async function saved(page: Page): Promise<void> {
  await expect.poll(() => page.getByTestId('save-state').textContent(), { timeout: 30_000 }).toBe('Saved');
}

async function setTitle(page: Page, title: string): Promise<void> {
  const input = page.getByRole('textbox', { name: 'Notebook title' });
  await input.fill(title);
  await input.blur();
}

/** The titles in the Notebooks menu (opened and closed again). */
async function listed(page: Page): Promise<string[]> {
  await page.getByRole('button', { name: 'Notebooks' }).click();
  const list = page.getByTestId('notebook-list');
  await expect.poll(() => list.locator('li[data-notebook-id]').count()).toBeGreaterThan(0);
  const titles = await list.locator('li[data-notebook-id] strong').allTextContents();
  await page.getByRole('button', { name: 'Notebooks' }).click();
  return titles;
}

/** Every stored notebook record, straight from IndexedDB (as the app left it). */
async function records(page: Page): Promise<{ id: string; text: string }[]> {
  return page.evaluate(
    () =>
      new Promise<{ id: string; text: string }[]>((resolve, reject) => {
        const open = indexedDB.open('sparsebook');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const req = open.result.transaction('notebooks').objectStore('notebooks').getAll();
          req.onsuccess = () => {
            open.result.close();
            resolve(req.result as { id: string; text: string }[]);
          };
          req.onerror = () => reject(req.error);
        };
      }),
  );
}

function sharedNotebook(): NotebookDoc {
  return {
    format: 'sparsebook-notebook',
    version: 2,
    title: 'Shared notebook',
    cells: [{ id: 'shared-md', kind: 'markdown', params: { source: '# From a link' }, inputs: {} }],
  };
}

describe('notebooks', () => {
  it('opens a link and a demo as new notebooks; the user’s notebook stays in the list, intact', async () => {
    const context = await newContext();
    try {
      const { page, errors } = await openPage(context, session.app.baseUrl);
      await saved(page);
      // The user's own work: a title and a markdown note.
      await setTitle(page, 'My own work');
      await cells(page).nth(0).getByRole('button', { name: 'Edit markdown' }).click();
      await page.getByRole('textbox', { name: 'Markdown source' }).fill('# Mine\n\nthe user typed this');
      await page.getByRole('button', { name: 'Done' }).click();
      await saved(page);
      expect(await listed(page)).toEqual(['My own work']);

      // The same tab opens a link (its autosave holds the user's notebook).
      await page.goto(`${session.app.baseUrl}${encodeShareHash(sharedNotebook())}`);
      await page.reload();
      await expect
        .poll(() => page.getByTestId('notice').textContent())
        .toMatch(/Opened from a link.*Shared notebook.*new notebook/);
      expect(await page.getByRole('textbox', { name: 'Notebook title' }).inputValue()).toBe(
        'Shared notebook',
      );
      expect(page.url()).not.toContain('#nb=');
      await saved(page);
      expect(await listed(page)).toEqual(['Shared notebook', 'My own work']);
      // A reload stays on the notebook the link made (no second copy of it).
      await page.reload();
      await expect
        .poll(() => page.getByRole('textbox', { name: 'Notebook title' }).inputValue())
        .toBe('Shared notebook');
      expect(await listed(page)).toEqual(['Shared notebook', 'My own work']);

      // A demo too.
      await page.goto(`${session.app.baseUrl}?demo=find-the-cliff`);
      await expect.poll(() => page.getByTestId('notice').textContent()).toMatch(/Demo/);
      await saved(page);
      expect(page.url()).not.toContain('demo=');
      const afterDemo = await listed(page);
      expect(afterDemo).toHaveLength(3);
      expect(afterDemo).toContain('My own work');
      expect(afterDemo).toContain('Shared notebook');

      // The user's notebook opens from the list exactly as it was left.
      await page.getByRole('button', { name: 'Notebooks' }).click();
      await screenshot(page, 'notebooks-list');
      await page.getByRole('menuitem', { name: 'Open notebook My own work' }).click();
      await expect
        .poll(() => page.getByRole('textbox', { name: 'Notebook title' }).inputValue())
        .toBe('My own work');
      expect(await cells(page).nth(0).getByTestId('markdown-output').textContent()).toContain(
        'the user typed this',
      );
      await page.reload();
      await expect
        .poll(() => page.getByRole('textbox', { name: 'Notebook title' }).inputValue())
        .toBe('My own work');
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('keeps an unreadable saved notebook untouched, says so, and opens a new one', async () => {
    const context = await newContext();
    try {
      const { page } = await openPage(context, session.app.baseUrl);
      await saved(page);
      // A notebook written by a newer Sparsebook, the most recently modified one.
      const future = JSON.stringify({
        format: 'sparsebook-notebook',
        version: 99,
        title: 'From the future',
        cells: [],
        hologram: true,
      });
      await page.evaluate(
        (text) =>
          new Promise<void>((resolve, reject) => {
            const open = indexedDB.open('sparsebook');
            open.onsuccess = () => {
              const tx = open.result.transaction(['notebooks', 'notebook-index'], 'readwrite');
              tx.objectStore('notebooks').put({ id: 'future', text });
              tx.objectStore('notebook-index').put({
                id: 'future',
                title: 'From the future',
                cellCount: 0,
                updatedAt: Date.now() + 1e9,
              });
              tx.oncomplete = () => {
                open.result.close();
                sessionStorage.clear(); // so the page opens the newest notebook, as a new tab would
                resolve();
              };
              tx.onerror = () => reject(tx.error);
            };
          }),
        future,
      );
      await page.reload();
      const notice = page.getByTestId('notice');
      await expect.poll(() => notice.textContent()).toMatch(/From the future.*could not be read/);
      expect(await notice.textContent()).toMatch(/kept unchanged/);
      expect(await notice.getAttribute('role')).toBe('alert');
      expect(await page.getByRole('textbox', { name: 'Notebook title' }).inputValue()).toBe(
        'Getting started',
      );
      await saved(page);
      // Edits go to the new notebook; the unreadable record is byte for byte what it was.
      await setTitle(page, 'Fresh start');
      await saved(page);
      const stored = await records(page);
      expect(stored.find((r) => r.id === 'future')?.text).toBe(future);
      expect(stored.filter((r) => JSON.parse(r.text).title === 'Fresh start')).toHaveLength(1);
      expect(await listed(page)).toContain('From the future');
    } finally {
      await context.close();
    }
  });

  it('a second tab on the same notebook edits a copy; neither tab overwrites the other', async () => {
    const context = await newContext();
    try {
      const { page: one } = await openPage(context, session.app.baseUrl);
      await saved(one);
      await setTitle(one, 'Tab one');
      await saved(one);
      // A new tab opens the most recent notebook, which the first tab holds: it gets a copy.
      const { page: two } = await openPage(context, session.app.baseUrl);
      // (A held lock counts as another tab's after 1.5 s, so a reload never finds its own.)
      await expect
        .poll(() => two.getByTestId('notice').textContent(), { timeout: 10_000 })
        .toMatch(/open in another tab/);
      expect(await two.getByRole('textbox', { name: 'Notebook title' }).inputValue()).toBe('Tab one (copy)');
      await setTitle(two, 'Tab two');
      await saved(two);
      await setTitle(one, 'Tab one, edited');
      await saved(one);
      const titles = (await records(one)).map((r) => (JSON.parse(r.text) as { title: string }).title);
      expect(titles.sort()).toEqual(['Tab one, edited', 'Tab two']);
      // Opening the first tab's notebook from the second also gives a copy, never the record itself.
      await two.getByRole('button', { name: 'Notebooks' }).click();
      await two.getByRole('menuitem', { name: 'Open notebook Tab one, edited' }).click();
      await expect
        .poll(() => two.getByRole('textbox', { name: 'Notebook title' }).inputValue(), { timeout: 10_000 })
        .toBe('Tab one, edited (copy)');
      // Once the first tab is closed, its notebook opens itself (the lock went with the tab).
      await one.close();
      await two.getByRole('button', { name: 'Notebooks' }).click();
      await two.getByRole('menuitem', { name: 'Open notebook Tab two' }).click();
      await expect
        .poll(() => two.getByRole('textbox', { name: 'Notebook title' }).inputValue())
        .toBe('Tab two');
      await two.getByRole('button', { name: 'Notebooks' }).click();
      await two.getByRole('menuitem', { name: 'Open notebook Tab one, edited' }).click();
      await expect
        .poll(() => two.getByRole('textbox', { name: 'Notebook title' }).inputValue())
        .toBe('Tab one, edited');
    } finally {
      await context.close();
    }
  });

  it('saves an edit made just before the tab closes (pagehide)', async () => {
    const context = await newContext();
    try {
      const { page } = await openPage(context, session.app.baseUrl);
      await saved(page);
      // Change the title and close at once, well inside the 250 ms autosave delay.
      await page.evaluate(() => {
        const input = document.querySelector<HTMLInputElement>('input[aria-label="Notebook title"]')!;
        input.value = 'Typed before closing';
        input.dispatchEvent(new Event('change', { bubbles: true }));
      });
      await page.close({ runBeforeUnload: true });
      const { page: again } = await openPage(context, session.app.baseUrl);
      await expect
        .poll(() => again.getByRole('textbox', { name: 'Notebook title' }).inputValue(), { timeout: 30_000 })
        .toBe('Typed before closing');
    } finally {
      await context.close();
    }
  });
});
