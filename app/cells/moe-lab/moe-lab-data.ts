/**
 * A MoE lab result decoded for display (shared by the MoE lab and routing-log cells): one
 * layer's co-activation matrix, the token → expert grid, chunk-sparsity curves, vocabulary lists
 * and the balance rows. Pure (Node-testable); the views only mount charts.
 */
import { tableFromArrays, tableFromIPC, type Table } from 'apache-arrow';
import type { CellResult, Json } from '../../notebook/cell-runtime';
import type { MoeLabSummary, MoeTokenRoute } from '../../../workers/moe-lab-jobs';
import { SERIES_COLORS } from '../../charts/theme';

export interface MoeLabData {
  summary: MoeLabSummary;
  nLayers: number;
  nExperts: number;
  /** The model's layer index of each report layer. */
  layerIds: number[];
  tokenExpert: Table;
  chunks: Table;
}

export function decodeMoeLab(result: CellResult, summary: MoeLabSummary): MoeLabData {
  const r = summary.report;
  return {
    summary,
    nLayers: r.log_layers.length,
    nExperts: r.nExperts,
    layerIds: r.log_layers.map((l) => l.layer),
    tokenExpert: tableFromIPC(result.tables.tokenExpert!),
    chunks: tableFromIPC(result.tables.chunks!),
  };
}

/** Index into the report's layers, clamped (a view param from an old or edited notebook). */
export function clampLabLayer(d: MoeLabData, layer: number): number {
  return Math.min(Math.max(0, Math.trunc(layer) || 0), d.nLayers - 1);
}

/** Row-major [E × E] co-activation of one layer. */
export function coactivationMatrix(d: MoeLabData, layer: number): Float32Array {
  return Float32Array.from(d.summary.report.coactivation[layer]!.flat());
}

/** The token → expert grid: per layer, the first-choice expert and gate of each mapped token. */
export function tokenExpertGrid(d: MoeLabData): { tokens: string[]; experts: number[][]; gates: number[][] } {
  const T = d.summary.pieces.length;
  const L = d.nLayers;
  const experts = Array.from({ length: L }, () => new Array<number>(T).fill(-1));
  const gates = Array.from({ length: L }, () => new Array<number>(T).fill(0));
  const tok = d.tokenExpert.getChild('token')!.toArray() as Int32Array;
  const layer = d.tokenExpert.getChild('layer')!.toArray() as Int32Array;
  const expert = d.tokenExpert.getChild('expert')!.toArray() as Int32Array;
  const gate = d.tokenExpert.getChild('gate')!.toArray() as Float32Array;
  for (let i = 0; i < tok.length; i++) {
    const l = d.layerIds.indexOf(layer[i]!);
    if (l >= 0 && tok[i]! < T) {
      experts[l]![tok[i]!] = expert[i]!;
      gates[l]![tok[i]!] = gate[i]!;
    }
  }
  return { tokens: d.summary.pieces, experts, gates };
}

/** CLS against chunk length, one series per layer (`layer` as "L0", …), for the line chart. */
export function chunkCurves(d: MoeLabData): Table {
  const layer = d.chunks.getChild('layer')!.toArray() as Int32Array;
  return tableFromArrays({
    chunk: Float64Array.from(d.chunks.getChild('chunk')!.toArray() as Int32Array),
    cls: Float64Array.from(d.chunks.getChild('cls')!.toArray() as Float32Array),
    layer: Array.from(layer, (l) => `L${l}`),
  });
}

/** One expert's most specialised tokens at a layer, with the token's text where known. */
export function vocabularyRows(
  d: MoeLabData,
  layer: number,
): { expert: number; tokens: { text: string; share: number; count: number }[] }[] {
  const names = d.summary.tokenPieces ?? {};
  return d.summary.report.log_layers[layer]!.vocabulary.experts.map((e) => ({
    expert: e.expert,
    tokens: e.tokens.map((t) => ({
      text: names[t.tokenId] ?? `#${t.tokenId}`,
      share: t.share,
      count: t.count,
    })),
  }));
}

/** The header line: tokens, documents, and the LBL at both scopes. */
export function labLine(d: MoeLabData): string {
  const r = d.summary.report;
  const lbl =
    r.lbl_micro === null
      ? 'no router logits in the log: no LBL'
      : `LBL micro (${r.micro_batch}) ${r.lbl_micro.toFixed(4)}, global ${r.lbl_global!.toFixed(4)}`;
  return `${d.summary.source}: ${r.nExperts} experts, top-${r.topK}; ${r.tokens.toLocaleString('en-US')} tokens in ${r.documents} documents; ${lbl}`;
}

/** An expert's colour in the token → expert map and the selection's routes (−1: no expert). */
export function expertColour(e: number): string {
  return e < 0 ? 'transparent' : SERIES_COLORS[e % SERIES_COLORS.length]!;
}

/** An expert's opacity: experts past the tenth reuse the hues, lighter. */
export function expertTint(e: number): number {
  return e >= 10 ? 0.55 : 1;
}

/** One layer of the selected token's routing, for display. */
export interface RouteRow {
  layer: number;
  /** Chosen experts, best first, with their gate weight and share of the gate mass. */
  experts: { expert: number; gate: number; share: number }[];
}

/**
 * The selected token's experts per layer (workers/moe-lab-jobs.ts `moeTokenRoute`), each with its
 * share of the layer's gate mass (gates need not sum to 1 without top-k renormalisation).
 *
 * @example
 * routeRows(route)[0]; // { layer: 0, experts: [{ expert: 5, gate: 0.62, share: 0.62 }, …] }
 */
export function routeRows(route: MoeTokenRoute): RouteRow[] {
  return route.layers.map((l) => {
    const mass = l.gates.reduce((s, g) => s + g, 0) || 1;
    return {
      layer: l.layer,
      experts: l.experts
        .map((expert, i) => ({ expert, gate: l.gates[i]!, share: l.gates[i]! / mass }))
        .filter((e) => e.expert >= 0),
    };
  });
}

/** A kept MoeTokenRoute read back (a report's: untrusted), or undefined when it is not one. */
export function parseTokenRoute(value: Json | undefined): MoeTokenRoute | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const whole = (v: Json | undefined): v is number => typeof v === 'number' && Number.isInteger(v);
  const numbers = (v: Json | undefined): v is number[] =>
    Array.isArray(v) && v.every((x) => typeof x === 'number');
  const { position, tokenId, token, documentTokens, nExperts, topK, layers, map } = value;
  if (![position, tokenId, documentTokens, nExperts, topK].every(whole) || typeof token !== 'string') {
    return undefined;
  }
  if (!Array.isArray(layers) || !map || typeof map !== 'object' || Array.isArray(map)) return undefined;
  const rows: MoeTokenRoute['layers'] = [];
  for (const l of layers) {
    if (!l || typeof l !== 'object' || Array.isArray(l)) return undefined;
    if (!whole(l.layer) || !numbers(l.experts) || !numbers(l.gates)) return undefined;
    if (l.experts.length !== l.gates.length) return undefined;
    rows.push({ layer: l.layer, experts: l.experts, gates: l.gates });
  }
  const { tokens, experts } = map;
  if (!Array.isArray(tokens) || !tokens.every((t) => typeof t === 'string')) return undefined;
  if (!Array.isArray(experts) || !experts.every((e) => numbers(e) && e.length === tokens.length)) {
    return undefined;
  }
  return {
    position: position as number,
    tokenId: tokenId as number,
    token,
    documentTokens: documentTokens as number,
    nExperts: nExperts as number,
    topK: topK as number,
    layers: rows,
    map: { tokens: tokens as string[], experts: experts as number[][] },
  };
}
