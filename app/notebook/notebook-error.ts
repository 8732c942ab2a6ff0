/**
 * The one error every notebook loader throws: a file, a share link or an autosaved copy that cannot
 * be opened. It names where the notebook came from and what is wrong, so the UI can show
 * "notebook.sparsebook.json: cell 3 ("c1a2b3c4") has no "kind"" and leave the open notebook alone.
 */

/**
 * A notebook that cannot be opened.
 *
 * `file` mirrors `source` so app/state/errors.ts `describeError` (which reads `file` + `problem`)
 * shows it like every other input error.
 *
 * @example
 * try {
 *   doc = parseNotebookFile(text, file.name);
 * } catch (e) {
 *   if (e instanceof NotebookError) showError(e.message); // "x.sparsebook.json: not valid JSON at line 3, column 5 …"
 *   else throw e;
 * }
 */
export class NotebookError extends Error {
  override readonly name = 'NotebookError';

  constructor(
    /** Where the notebook came from: a file name, `"link"` or `"autosave"`. */
    readonly source: string,
    /** What is wrong, without the source (e.g. `cell 3 ("c1a2b3c4") has no "kind"`). */
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${source}: ${problem}`, options);
  }

  /** Alias of `source`, for `describeError`. */
  get file(): string {
    return this.source;
  }
}
