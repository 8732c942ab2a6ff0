/**
 * Text preparation for mask evaluation: hold out calibration documents for the channel family,
 * and cut the scored text to a number of loss windows. Documents follow ARCHITECTURE.md "Loss
 * over a text" (split on `<|endoftext|>`, trimmed, empty ones dropped).
 */
import type { Hooks } from '../../runtime/hooks';
import type { LlamaModel } from '../../runtime/model/llama';
import type { Tokenizer } from '../../runtime/tokenizers/tokenizer';
import { patternWindows } from './collect-patterns';
import { calibrateChannels, defaultChannelRank, type ChannelCalibration } from './masks';
import type { LayerQK } from './types';
import { qkHooks } from './qk-hooks';

const SEP = '<|endoftext|>';

export interface PreparedText {
  /** The text every family is scored on. */
  scored: string;
  /** Held-out documents for channel calibration (when asked to split), else null. */
  calibrationText: string | null;
  calibrationDocuments: number;
}

function documents(text: string): string[] {
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
  let docs = documents(text);
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
  if (maxWindows !== Infinity) docs = fitWindows(tokenizer, docs, maxWindows * S + 1, options.fileName);
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

/** Per-layer channel calibration and where its text came from. */
export interface ChannelCalibrations {
  perLayer: ChannelCalibration[];
  source: string;
}

/**
 * Run the model over the first `maxWindows` (default 2) windows of the calibration text and rank
 * each layer's channels (`calibrateChannels`) from its rotated queries and keys.
 *
 * @example
 * const cal = await calibrateForChannels(model, tok, heldOut, { source: 'held-out.txt' });
 * cal.perLayer[0].channels; // [nHeads, r]
 */
export async function calibrateForChannels(
  model: LlamaModel,
  tokenizer: Tokenizer,
  text: string,
  options: { channels?: number; source: string; maxWindows?: number },
): Promise<ChannelCalibrations> {
  const { nLayers, nHeads, nKvHeads, headDim, seqLen } = model.config;
  const r = options.channels ?? defaultChannelRank(headDim);
  const tokens = Int32Array.from(
    // Spread: flatMap flattens arrays only, an Int32Array would be kept whole (and read as NaN → 0).
    documents(text).flatMap((d) => [...tokenizer.encode(d, { bos: true, source: options.source })]),
  );
  if (tokens.length < 2) throw new Error(`channel calibration (${options.source}) has fewer than 2 tokens`);
  const samples: LayerQK[][] = Array.from({ length: nLayers }, () => []);
  const b = model.backend;
  for (const w of patternWindows(tokens.length + 1, seqLen, { maxWindows: options.maxWindows ?? 2 })) {
    const hooks: Record<string, Hooks[string]> = {};
    const q: Float32Array[] = [];
    for (let l = 0; l < nLayers; l++) {
      const qk = qkHooks(model.config, l);
      hooks[qk.q] = async (t) => void (q[l] = await b.read(t));
      hooks[qk.k] = async (t) => {
        const k = await b.read(t);
        samples[l]!.push({ layer: l, T: w.length, nHeads, nKvHeads, headDim, q: q[l]!, k });
      };
    }
    b.dispose(await model.forward(tokens.subarray(w.start, w.start + w.length), { hooks }));
  }
  return { perLayer: samples.map((s) => calibrateChannels(s, r)), source: options.source };
}
