/**
 * What the page was opened with — a share link (`#nb=…`), a gallery demo (`?demo=…`) or a model
 * pair (`?model=…&tokenizer=…`) — as the notebook to open as a new one, with the notices to show.
 * Nothing stored is replaced; the opening params are dropped from the URL so a reload reopens the
 * notebook made from them instead of making another.
 */
import { KNOWN_KINDS } from '../cells/kinds';
import type { NotebookDoc } from '../notebook/document';
import { parseNotebookFile } from '../notebook/notebook-file';
import { decodeShareHash, hasShareHash } from '../notebook/share-link';
import { defaultNotebook } from './default-notebook';
import { fetchBytes } from './fetch-bytes';
import { errorNotice, type Notice } from './notices';

/** Query parameters that open something as a new notebook. */
const OPENING_PARAMS = ['demo', 'model', 'tokenizer'];

export interface Opening {
  incoming: NotebookDoc | undefined;
  /** In order; the last one is shown. */
  notices: Notice[];
  /** `?backend=cpu`: start on the CPU backend. */
  cpu: boolean;
}

export async function fetchText(url: string): Promise<string> {
  const bytes = await fetchBytes(url, { signal: new AbortController().signal });
  return new TextDecoder().decode(bytes);
}

/** A gallery demo (`?demo=find-the-cliff` opens public/demos/find-the-cliff.sparsebook.json). */
export async function loadDemo(id: string): Promise<NotebookDoc> {
  const name = `${id}.sparsebook.json`;
  if (!/^[a-z0-9-]{1,64}$/.test(id)) throw new RangeError(`"${id}" is not a demo name`);
  return parseNotebookFile(await fetchText(`demos/${name}`), name, { knownKinds: KNOWN_KINDS });
}

/** Read what `location` opens, and drop the opening params from the address bar. */
export async function readOpening(location: { hash: string; search: string }): Promise<Opening> {
  const notices: Notice[] = [];
  let incoming: NotebookDoc | undefined;
  if (hasShareHash(location.hash)) {
    try {
      incoming = decodeShareHash(location.hash, { knownKinds: KNOWN_KINDS });
      notices.push({
        kind: 'info',
        title: 'Opened from a link',
        message: `“${incoming.title}” (${incoming.cells.length} cells), as a new notebook`,
      });
    } catch (e) {
      notices.push(errorNotice(e, 'This link could not be opened'));
    }
  }
  const query = new URLSearchParams(location.search);
  const demo = query.get('demo');
  if (demo) {
    try {
      incoming = await loadDemo(demo);
      notices.push({ kind: 'info', title: 'Demo', message: `“${incoming.title}”: press Run all` });
    } catch (e) {
      notices.push(errorNotice(e, 'The demo could not be opened'));
    }
  }
  if (!incoming && query.get('model') && query.get('tokenizer')) incoming = defaultNotebook(location.search);
  if (hasShareHash(location.hash) || OPENING_PARAMS.some((p) => query.has(p))) {
    for (const p of OPENING_PARAMS) query.delete(p);
    const rest = query.toString();
    history.replaceState(null, '', rest ? `?${rest}` : window.location.pathname);
  }
  return { incoming, notices, cpu: query.get('backend') === 'cpu' };
}
