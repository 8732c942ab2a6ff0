/**
 * Channel calibration for the mask sweep: rank each layer's query/key channels on held-out text
 * (runtime/scored-text.ts splits it off), over the first input windows (runtime/windows.ts).
 */
import type { Hooks } from '../../runtime/hooks';
import type { LlamaModel } from '../../runtime/model/llama';
import type { Tokenizer } from '../../runtime/tokenizers/tokenizer';
import { documentsOf } from '../../runtime/scored-text';
import { inputWindows } from '../../runtime/windows';
import { calibrateChannels, defaultChannelRank, type ChannelCalibration } from './masks';
import type { LayerQK } from './types';
import { qkHooks } from './qk-hooks';

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
    documentsOf(text).flatMap((d) => [...tokenizer.encode(d, { bos: true, source: options.source })]),
  );
  if (tokens.length < 2) throw new Error(`channel calibration (${options.source}) has fewer than 2 tokens`);
  const samples: LayerQK[][] = Array.from({ length: nLayers }, () => []);
  const b = model.backend;
  for (const w of inputWindows(tokens.length, seqLen, { maxWindows: options.maxWindows ?? 2 })) {
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
