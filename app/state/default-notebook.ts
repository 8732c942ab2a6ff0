/**
 * The notebook a first visit opens: a short introduction, the bundled default model (or the model
 * named by `?model=…&tokenizer=…`), a sample text and a model view of it.
 */
import { kindOf } from '../cells/kinds';
import { emptyNotebook, type NotebookDoc, type ParamValue } from '../notebook/document';
import { addCell } from '../notebook/edit';

const INTRO = `# Sparsebook

A notebook for seeing and measuring sparsity inside transformer models, running in your browser.
Each cell below reads the cells it names; edit a parameter and it runs again, with everything after it.

**Shift+Enter** runs a cell, **↑/↓** move between cells.`;

export function defaultNotebook(search = ''): NotebookDoc {
  const query = new URLSearchParams(search);
  let doc = emptyNotebook('Getting started');
  const add = (kind: string, params: Record<string, ParamValue> = {}) => {
    const spec = kindOf(kind)!;
    doc = addCell(doc, { kind, params: { ...spec.defaults(), ...params }, inputs: spec.inputs }).doc;
  };
  add('markdown', { source: INTRO });
  const modelUrl = query.get('model');
  const tokenizerUrl = query.get('tokenizer');
  add('model', modelUrl && tokenizerUrl ? { source: 'url', modelUrl, tokenizerUrl } : {});
  add('text');
  add('model-view');
  return doc;
}
