/**
 * What a cell's view may use of the notebook: its own and its inputs' runtime state, its params
 * (read-only in a report), run / cancel, picked files and the worker client for the view's own
 * requests (a feature card, a pruned matrix). Views get this, not the whole NotebookState: a cell
 * cannot reach the notebook library, the backend, exports or other cells' params.
 */
import type { RuntimeClient } from '../../workers/runtime-client';
import type { CellRuntime, Json } from '../notebook/cell-runtime';
import type { CellDoc, ParamValue } from '../notebook/document';
import type { TokenSelection } from '../notebook/selection';
import type { SelectedDocument } from '../cells/text/text-kind';
import type { NotebookMode } from './param-lock';

export interface CellContext {
  /** `report`: results come from the report and only view params can change. */
  readonly mode: NotebookMode;
  /** This page's own shell when it is a report (a report page cannot allow remote images). */
  readonly reportShell: string | undefined;
  /** Remote images in markdown are allowed for the open notebook. */
  readonly remoteImages: boolean;
  readonly client: RuntimeClient;
  /**
   * The notebook's selected token, if any (app/notebook/selection.ts). A view shows its own view of
   * it — `selectionIn(ctx.selection, textCellId)` gives the document and position when it is in the
   * text the cell reads.
   */
  readonly selection: TokenSelection | undefined;
  /**
   * Make a token the notebook's selection (undefined clears it). Allowed in reports too: it changes
   * no result. Consecutive selections are one undo step.
   */
  select(selection: TokenSelection | undefined): void;
  /**
   * The selection with its document's text, for a cell with no text input of its own that answers
   * it by running the document through its model (MoE routing); undefined without a selection.
   */
  readonly selectedDocument: SelectedDocument | undefined;
  /**
   * Keep cell `cellId`'s answer to the selection (`key`: `answerKey` of what it is of; `value`:
   * a JSON-able summary, kept as its JSON copy), computed in the worker beside the cell's current
   * result, so an exported report shows it.
   */
  keepAnswer(cellId: string, key: string, value: object): void;
  /** Cell `cellId`'s kept answer for `key` (a report's, or this session's), if any. */
  keptAnswer(cellId: string, key: string): Json | undefined;
  /** The runtime state of cell `id` (this cell, or one of its inputs). */
  runtime(id: string): CellRuntime;
  /** The cell connected to `cell`'s input `role`, if any. */
  inputCell(cell: CellDoc, role: string): CellDoc | undefined;
  /** Param `name` cannot change now (a report's compute params). */
  paramLocked(cell: CellDoc, name: string): boolean;
  setParams(id: string, patch: Record<string, ParamValue>, coalesceKey?: string): void;
  run(id: string): void;
  cancel(id: string): void;
  pickFiles(id: string, files: readonly File[], patch?: Record<string, ParamValue>): Promise<void>;
  pickModelFiles(id: string, files: readonly File[]): Promise<void>;
  allowRemoteImages(): void;
}
