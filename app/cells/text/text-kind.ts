/**
 * Text cell: typed, pasted or loaded text; several documents separated by `<|endoftext|>`. Its
 * run only checks and counts the documents (no worker); readers take the text from its params.
 */
import { END_OF_TEXT, splitDocuments } from '../../../workers/text';
import { option, optionSchema } from '../../../analyses/options';
import type { NotebookDoc } from '../../notebook/document';
import { defineCellKind } from '../cell-kind';

/** Largest text a cell keeps (it is saved with the notebook and may travel in a link). */
export const MAX_TEXT_CHARS = 1_000_000;

/** The default text: one short document per domain the bundled models were trained on. */
export const SAMPLE_TEXT = `Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse, and nothing particular to interest me on shore, I thought I would sail about a little and see the watery part of the world.
${END_OF_TEXT}
export function clamp(value, lo, hi) {
  return Math.min(hi, Math.max(lo, value));
}
${END_OF_TEXT}
Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her red ball.`;

export interface TextSummary {
  name: string;
  documents: number;
  characters: number;
  /** Characters of each document, in order (for the document picker). */
  lengths: number[];
  notes: string[];
}

/** The text itself and the name it is shown and reported under. */
export const TEXT_PARAMS = optionSchema({
  text: option.string(SAMPLE_TEXT),
  name: option.string('sample'),
});

export const textKind = defineCellKind({
  kind: 'text',
  title: 'Text',
  description: 'Text to analyse: type, paste or load a .txt (documents split on <|endoftext|>)',
  params: TEXT_PARAMS,
  inputs: [],
  async run({ params }) {
    const { text } = params;
    const name = params.name || 'text';
    if (text.length > MAX_TEXT_CHARS) {
      throw new RangeError(
        `${name}: ${text.length.toLocaleString('en-US')} characters; a text cell holds at most ${MAX_TEXT_CHARS.toLocaleString('en-US')}`,
      );
    }
    const split = splitDocuments(text, name);
    const summary: TextSummary = {
      name,
      documents: split.documents.length,
      characters: text.length,
      lengths: split.documents.map((d) => d.length),
      notes: split.notes,
    };
    return { meta: summary, tables: {} };
  },
});

/** The documents of a text cell's params (for readers of a text input). */
export function documentsOf(params: { text: string; name: string }): string[] {
  return splitDocuments(params.text, params.name || 'text').documents;
}

/**
 * The documents of a text cell's params and document `index` of them, or a RangeError naming the
 * range (the schema has checked `index` is an integer ≥ 0; the text decides how many there are).
 */
export function documentAt(
  params: { text: string; name: string },
  index: number,
): { docs: string[]; text: string } {
  const docs = documentsOf(params);
  if (index >= docs.length)
    throw new RangeError(`document must be an integer in [0, ${docs.length - 1}], got ${index}`);
  return { docs, text: docs[index]! };
}

/** The notebook's selected token with its document's text, for cells without a text input of their own. */
export interface SelectedDocument {
  /** Id of the text cell. */
  text: string;
  document: number;
  position: number;
  /** The document's text (split and trimmed as every text reader splits it). */
  documentText: string;
}

/**
 * The selection of `doc` resolved to its document's text, or undefined (no selection, or one whose
 * document the text cell no longer has). A cell that routes the token through its own model (MoE
 * routing) reads this instead of a text input.
 *
 * @example
 * selectedDocumentOf(doc)?.documentText; // 'Once upon a time …'
 */
export function selectedDocumentOf(doc: NotebookDoc): SelectedDocument | undefined {
  const s = doc.selection;
  const cell = s && doc.cells.find((c) => c.id === s.text && c.kind === 'text');
  if (!s || !cell) return undefined;
  const docs = documentsOf({ text: String(cell.params.text ?? ''), name: String(cell.params.name ?? '') });
  const documentText = docs[s.document];
  if (documentText === undefined) return undefined;
  return { text: s.text, document: s.document, position: s.position, documentText };
}

/** The text input of an analysis cell. */
export const TEXT_INPUT = textKind.asInput('text', 'Text');
