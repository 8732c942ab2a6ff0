/** Steps the notebook e2e tests share: shared texts, adding cells, loading stories260K from files. */
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { sharedPath, STORIES260K, TINYSTORIES_VALID, TOK512 } from '../helpers/shared-paths';
import { cells, waitCell } from './app-server';

/** The first `n` stories of the shared validation text, separated as in the file. */
export function stories(n: number): string {
  return readFileSync(sharedPath(TINYSTORIES_VALID), 'utf8')
    .split('<|endoftext|>')
    .slice(0, n)
    .join('<|endoftext|>');
}

/** Add a cell of the kind titled `title` after the focused cell, through the toolbar menu. */
export async function addCell(page: Page, title: string): Promise<void> {
  await page.getByRole('button', { name: 'Add cell' }).click();
  await page.getByRole('menuitem', { name: title, exact: true }).click();
}

/** Add a cell titled `title` after the last one and check its kind; returns its index. */
export async function addLastCell(page: Page, title: string, kind: string): Promise<number> {
  const n = await cells(page).count();
  await cells(page)
    .nth(n - 1)
    .focus();
  await addCell(page, title);
  expect(await cells(page).nth(n).getAttribute('data-cell-kind')).toBe(kind);
  return n;
}

/** Point model cell `modelCell` at stories260K + tok512 through the file input and wait for it. */
export async function loadStories(page: Page, modelCell: number): Promise<string> {
  const cell = cells(page).nth(modelCell);
  await cell.getByRole('radio', { name: 'Files' }).check();
  await cell.getByTestId('model-files').setInputFiles([sharedPath(STORIES260K), sharedPath(TOK512)]);
  await waitCell(page, modelCell, 'done');
  const facts = await cell.getByTestId('model-facts').innerText();
  expect(facts).toMatch(/Backend\s*WebGPU/);
  return facts;
}

/**
 * From the default notebook: keep its markdown and model cells, load stories260K into the model
 * cell, and add a text cell (cell 2) holding the first `n` stories; the text cell keeps focus, so
 * the next `addCell` lands after it.
 */
export async function storiesNotebook(page: Page, n: number): Promise<void> {
  await page.getByRole('button', { name: 'Delete cell 4' }).click();
  await page.getByRole('button', { name: 'Delete cell 3' }).click();
  await loadStories(page, 1);
  await cells(page).nth(1).focus();
  await addCell(page, 'Text');
  const textArea = cells(page).nth(2).getByRole('textbox');
  await textArea.fill(stories(n));
  await textArea.blur();
}
