/**
 * The text an analysis scores, cut to a number of loss windows (runtime/windows.ts), with
 * calibration documents held out when asked (the mask sweep's channel family, pruning): documents
 * follow ARCHITECTURE.md "Loss over a text" (split on `<|endoftext|>`, trimmed, empty ones dropped).
 */
import type { Tokenizer } from './tokenizers/tokenizer';
import { END_OF_TEXT as SEP } from './text';
import { streamTokensFor } from './windows';

export interface PreparedText {
  /** The text every family is scored on. */
  scored: string;
  /** Held-out documents for channel calibration (when asked to split), else null. */
  calibrationText: string | null;
  calibrationDocuments: number;
}

/** The documents of a text: split on `<|endoftext|>`, trimmed, empty ones dropped. */
export function documentsOf(text: string): string[] {
  return text
    .split(SEP)
    .map((d) => d.trim())
    .filter((d) => d.length > 0);
}

/**
 * Split off calibration documents (the first tenth, at least one; a single document is cut at a
 * tenth of its characters) and keep the longest prefix of the rest whose token stream fits
 * `maxWindows` loss windows of S predictions (a document that does not fit is cut by characters).
 *
 * @example
 * prepareText(tok, text, 512, { maxWindows: 2 }).scored; // ≤ 1,025 tokens once encoded
 */
export function prepareText(
  tokenizer: Tokenizer,
  text: string,
  S: number,
  options: { maxWindows?: number; splitCalibration?: boolean; fileName?: string } = {},
): PreparedText {
  let docs = documentsOf(text);
  if (docs.length === 0) throw new Error(`${options.fileName ?? 'text'}: no text to score`);
  let calibrationText: string | null = null;
  let calibrationDocuments = 0;
  if (options.splitCalibration) {
    if (docs.length === 1) {
      const d = docs[0]!;
      const cut = Math.max(1, d.lastIndexOf(' ', Math.floor(d.length / 10)));
      [calibrationText, docs] = [d.slice(0, cut), [d.slice(cut).trim()]];
      calibrationDocuments = 1;
    } else {
      calibrationDocuments = Math.max(1, Math.floor(docs.length / 10));
      calibrationText = docs.slice(0, calibrationDocuments).join(`\n${SEP}\n`);
      docs = docs.slice(calibrationDocuments);
    }
  }
  const maxWindows = options.maxWindows ?? Infinity;
  if (!(maxWindows >= 1)) throw new Error(`maxWindows must be at least 1, got ${maxWindows}`);
  if (maxWindows !== Infinity)
    docs = fitWindows(tokenizer, docs, streamTokensFor(maxWindows, S), options.fileName);
  return { scored: docs.join(`\n${SEP}\n`), calibrationText, calibrationDocuments };
}

/** Longest prefix of documents whose BOS-prefixed token stream has at most `room` tokens. */
function fitWindows(tokenizer: Tokenizer, docs: string[], room: number, source?: string): string[] {
  const out: string[] = [];
  const count = (d: string) => tokenizer.encode(d, { bos: true, source }).length;
  for (const d of docs) {
    const n = count(d);
    if (n <= room) {
      out.push(d);
      room -= n;
      continue;
    }
    // Cut by characters: start proportional, shrink until the piece fits.
    let len = Math.floor((d.length * room) / n);
    while (len > 0 && count(d.slice(0, len)) > room) len = Math.floor(len * 0.95);
    if (len > 0) out.push(d.slice(0, len));
    break;
  }
  return out;
}
