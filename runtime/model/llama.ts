/**
 * A Llama model (llama2.c architecture, dense or with Mixtral-style sparse MoE FFNs) on a Backend:
 * weights uploaded once, `forward` over a batch of token rows with named hook points, an optional
 * KV cache and, for MoE models, routing interventions.
 */
import type { Backend, PatternProbeOptions, PatternProbeResult } from '../../kernels/backend';
import { sizeOf, type FloatDType, type Tensor } from '../../kernels/tensor';
import {
  isHalf,
  toFloat32,
  weightDTypeOf,
  weightLength,
  type WeightArray,
  type WeightDType,
} from '../../kernels/weight-dtype';
import { runHook, validateHooks, type Hooks } from '../hooks';
import { blockOf, qDimOf } from './llama-config';
import { KvCache } from './kv-cache';
import {
  checkLayerWeights,
  layerTensors,
  llamaBlock,
  uploadLayerWeights,
  weightUpload,
  type DeviceLayerWeights,
  type WeightUpload,
} from './llama-block';
import { requiredOptionalParts, type LlamaConfig, type LlamaWeights } from './llama-config';
import { emptyLayer, emptyWeights, type StoredWeights } from './arch/tensor-table';
import {
  chunkTensors,
  embedRows,
  rowBlockStarts,
  unembedRows,
  uploadRowChunks,
  type RowChunks,
} from './row-chunks';
import { resolveMoeRouting, type MoeInterventions } from './moe-interventions';
import { TensorScope } from './tensor-scope';

/** Options of `LlamaModel.forward`. */
export interface ForwardOptions {
  /** Hook functions by hook point name (see `listHookPoints`). */
  hooks?: Hooks;
  /**
   * Absolute position of the first token. With a KV cache it defaults to `kvCache.length` and
   * must not exceed it (earlier positions may be overwritten, e.g. to rewind). Without a cache it
   * defaults to 0 and only shifts the rotary angles.
   */
  pos0?: number;
  /** Cache to read earlier positions from and append these tokens' keys/values to. */
  kvCache?: KvCache;
  /**
   * Routing interventions of an MoE model (disable experts, force top-k, router temperature,
   * per-expert selection bias), globally or per layer; an error for a dense model.
   */
  moe?: MoeInterventions;
  /**
   * Replacement weight matrices by layer, for this call only (pruned copies, for instance): the
   * loaded weights stay intact, so switching between variants needs no reload.
   */
  weights?: LayerWeightOverrides;
  /**
   * Probe every layer's attention pattern (`Backend.patternProbe` with `spec`) inside the
   * attention pass, without storing the pattern where the backend can (see
   * `AttentionOptions.probe`); `consume` receives each layer's result, in layer order, and owns
   * its tensors. Not with a KV cache.
   */
  attentionProbe?: AttentionProbeOptions;
  /**
   * Unembed the last position only: the logits are [1, vocab] (what a decoder samples from), so a
   * prompt's prefill skips T − 1 rows of the largest matmul and of the read-back. Every hook up
   * to `ln_final.hook_normalized` still sees all rows; `hook_logits` sees the one row.
   */
  lastLogitsOnly?: boolean;
}

export interface AttentionProbeOptions {
  spec: PatternProbeOptions;
  consume: (layer: number, probe: PatternProbeResult) => void;
}

/** Options of `LlamaModel.load`. */
export interface LoadOptions {
  /**
   * Hand the host weights over instead of copying them: each array is adopted by the backend
   * (`Backend.adoptTensor`; on the CPU the array becomes the tensor, no copy) and dropped from
   * `checkpoint.weights` once uploaded, so no host copy outlives the load (the CPU tensors are the
   * arrays themselves; WebGPU keeps none). The checkpoint's weights are left empty and may not be
   * loaded again; the caller must not write the arrays afterwards (an in-memory F32 file's tensors
   * are views into its bytes: those bytes then belong to the model). Use it when the checkpoint was
   * made for this load; keep the default (copies) when the same weights feed several models or are
   * edited later.
   */
  transfer?: boolean;
  /**
   * Split the embedding / unembedding into row blocks of at most this many bytes (default: the
   * backend's `maxTensorBytes`, which it may not exceed). Tests force small blocks with it.
   */
  maxTensorBytes?: number;
}

/** How a loaded model holds its weights, for display (README "Precision"). */
export interface ModelWeightPrecision {
  /** Dtypes the checkpoint stored the weights in (llama2.c: F32). */
  readonly stored: readonly string[];
  /** Element types the backend holds the weight matrices and embeddings in (norms are f32). */
  readonly held: readonly WeightDType[];
  /**
   * Which path ran, in one line: `f32 (stored f32)`, `bf16 (kept 16-bit, decoded in the kernels;
   * norms and biases f32)`, plus on WebGPU whether the adapter has shader-f16 (not needed).
   */
  readonly path: string;
}

/** Weights handed over with `transfer`; loading them again is an error, not an empty model. */
const transferred = new WeakSet<StoredWeights>();

/** What `ModelWeightPrecision` says for weights held in `held`, stored as `stored`, on this backend. */
export function weightPrecisionOf(
  backend: Backend,
  stored: readonly string[],
  held: readonly WeightDType[] = ['f32'],
): ModelWeightPrecision {
  const half = held.filter((d) => d !== 'f32');
  const converted = stored.filter((d) => d !== 'F32' && !(half as string[]).includes(d.toLowerCase()));
  let path = half.length
    ? `${half.join(' and ')} (kept 16-bit, decoded in the kernels; norms and biases f32)`
    : converted.length
      ? `f32 (converted from ${converted.map((d) => d.toLowerCase()).join(' and ')} at load)`
      : 'f32 (stored f32)';
  if (backend.kind === 'webgpu') {
    path += backend.weightPrecision.shaderF16
      ? '; shader-f16 available (not needed)'
      : '; no shader-f16 on this adapter (not needed)';
  }
  return { stored: [...stored], held: [...held], path };
}

/** The linear layers of a block that can be replaced (`ForwardOptions.weights`). */
export const LINEAR_WEIGHTS = ['wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3'] as const;
export type LinearWeightName = (typeof LINEAR_WEIGHTS)[number];

/** Replacement matrices by layer index, each the shape of the matrix it replaces. */
export type LayerWeightOverrides = Readonly<
  Record<number, Readonly<Partial<Record<LinearWeightName, Tensor<'f32'>>>>>
>;

/** What `LlamaModel.incremental` returns (see there). */
export interface IncrementalLoad {
  /** Run `place` on a blank weights object and upload every array it filled. */
  add(place: (w: LlamaWeights) => void): void;
  /** The model, once every weight has arrived. */
  finish(): LlamaModel;
  /** Free the weights uploaded so far (an abandoned load); a no-op after `finish`. */
  dispose(): void;
}

/** A model's weights on the backend, before they become a LlamaModel. */
interface UploadedWeights {
  layers: DeviceLayerWeights[];
  emb: RowChunks;
  output: RowChunks;
  norm: Tensor<'f32'>;
  extra: { posEmbeddings?: Tensor<FloatDType>; normBias?: Tensor<'f32'> };
}

/** How the embedding and the classifier ([vocab, dim], maybe split by rows) are uploaded. */
type RowsUpload = (data: WeightArray, rows: number, cols: number) => RowChunks;

/**
 * Upload every weight of `w` with `up` (`upRows` for the embedding and classifier), always in the
 * same order for a config (the layers, then embeddings, classifier, final norm, positions and the
 * final norm's bias), which is what lets `LlamaModel.incremental` number the weights.
 */
function uploadWeights(
  backend: Backend,
  c: LlamaConfig,
  w: StoredWeights,
  up: WeightUpload,
  upRows: RowsUpload,
  afterLayer?: (i: number) => void,
): UploadedWeights {
  const block = blockOf(c);
  const layers = w.layers.map((l, i) => {
    const uploaded = uploadLayerWeights(backend, c, l, up);
    afterLayer?.(i);
    return uploaded;
  });
  const emb = upRows(w.tokEmbeddings, c.vocabSize, c.dim);
  const output = w.output ? upRows(w.output, c.vocabSize, c.dim) : emb;
  const norm = up(w.norm, [c.dim]);
  const extra = {
    ...(block.positions.kind === 'learned' ? { posEmbeddings: up(w.posEmbeddings!, [c.seqLen, c.dim]) } : {}),
    ...(block.norm === 'layer' ? { normBias: up(w.normBias!, [c.dim]) } : {}),
  };
  return { layers, emb, output, norm, extra };
}

/**
 * Weights with every part `c` needs present and empty (length 0), MoE experts and the shared
 * expert included: what `place` fills, one tensor at a time, in `LlamaModel.incremental`.
 */
function blankWeights(c: LlamaConfig): LlamaWeights {
  const e = new Float32Array(0);
  const block = blockOf(c);
  const w = emptyWeights(c);
  for (const l of w.layers) {
    for (const p of requiredOptionalParts(c)) l[p] = e;
    if (c.moe) {
      const expert = () => ({ w1: e, w2: e, w3: e });
      l.moe = {
        router: e,
        experts: Array.from({ length: c.moe.nExperts }, expert),
        ...(c.moe.sharedExpert ? { shared: { expert: expert(), gate: e } } : {}),
      };
    }
  }
  if (!c.sharedClassifier) w.output = e;
  if (block.positions.kind === 'learned') w.posEmbeddings = e;
  if (block.norm === 'layer') w.normBias = e;
  return w;
}

/**
 * Free a host array the backend has copied (WebGPU): detaching its buffer releases the memory now
 * instead of at the next garbage collection. Only an array that owns its whole buffer is detached.
 */
export function releaseHostArray(w: WeightArray): void {
  const a = isHalf(w) ? w.bits : w;
  const buffer = a.buffer as ArrayBuffer & { transfer?: (length: number) => ArrayBuffer };
  // Empty or already detached (byteLength 0), a view into a larger buffer, or no `transfer`: leave it.
  if (buffer.byteLength === 0 || a.byteOffset !== 0 || a.byteLength !== buffer.byteLength) return;
  if (typeof buffer.transfer !== 'function') return;
  if (typeof SharedArrayBuffer !== 'undefined' && (a.buffer as unknown) instanceof SharedArrayBuffer) return;
  buffer.transfer(0);
}

export class LlamaModel {
  private disposed = false;

  private constructor(
    readonly backend: Backend,
    /** Where the weights came from (a file name), for messages. */
    readonly name: string,
    readonly config: LlamaConfig,
    /** [vocab, dim], split by rows when larger than one tensor may be (row-chunks.ts). */
    private readonly tokEmbeddings: RowChunks,
    private readonly layers: DeviceLayerWeights[],
    private readonly norm: Tensor<'f32'>,
    /** The classifier; the same blocks as tokEmbeddings when shared. */
    private readonly output: RowChunks,
    /** Learned positions (GPT-2) and the final LayerNorm's bias, where the architecture has them. */
    private readonly extra: { posEmbeddings?: Tensor<FloatDType>; normBias?: Tensor<'f32'> },
    /** How the weights are held and which conversion ran (README "Precision"). */
    readonly weightPrecision: ModelWeightPrecision,
  ) {}

  /**
   * Upload a parsed checkpoint's weights to `backend`: copies by default, or handed over with
   * `{ transfer: true }` (see `LoadOptions`). 16-bit matrices stay 16-bit on the backend (the
   * kernels decode them); `storedDtypes` feeds `weightPrecision`.
   *
   * @example
   * const model = LlamaModel.load(createCpuBackend(), parseLlama2c(bytes, 'stories260K.bin'));
   * const logits = await model.forward(Int32Array.of(1, 403)); // [2, 512]
   * // A checkpoint read for this model only: no second copy of the weights on the CPU.
   * const lean = LlamaModel.load(createCpuBackend(), hfCheckpoint(parsed, [openSafetensorsFile(f)]), { transfer: true });
   */
  static load(
    backend: Backend,
    checkpoint: {
      config: LlamaConfig;
      weights: StoredWeights;
      fileName?: string;
      storedDtypes?: readonly string[];
    },
    options: LoadOptions = {},
  ): LlamaModel {
    const { config: c, weights: w } = checkpoint;
    if (transferred.has(w)) {
      throw new Error(
        `${checkpoint.fileName ?? 'model'}: these weights were handed to a model already (LlamaModel.load with transfer); read the checkpoint again`,
      );
    }
    const block = blockOf(c);
    const transfer = options.transfer === true;
    const up = weightUpload(backend, transfer);
    const maxBytes = tensorLimit(backend, options.maxTensorBytes);
    const upRows: RowsUpload = (data, rows, cols) => uploadRowChunks(up, data, rows, cols, maxBytes);
    w.layers.forEach((l, i) => checkLayerWeights(c, l, i));
    const lengthOf = (a: WeightArray | undefined) => (a ? weightLength(a) : undefined);
    if (block.positions.kind === 'learned' && lengthOf(w.posEmbeddings) !== c.seqLen * c.dim) {
      throw new Error(`the position embeddings must be [${c.seqLen}, ${c.dim}]`);
    }
    if (block.norm === 'layer' && w.normBias?.length !== c.dim)
      throw new Error(`the final norm needs a [${c.dim}] bias`);
    const held = heldDTypes(w);
    // Refuse a classifier that cannot be split before anything is uploaded (nothing to free).
    for (const m of [w.tokEmbeddings, w.output])
      if (m) rowBlockStarts(c.vocabSize, c.dim, weightDTypeOf(m), maxBytes);
    const uploaded = uploadWeights(
      backend,
      c,
      w,
      up,
      upRows,
      transfer ? (i) => (w.layers[i] = emptyLayer()) : undefined,
    );
    if (transfer) {
      const empty = new Float32Array(0);
      w.tokEmbeddings = empty;
      w.norm = empty;
      w.output = w.output ? empty : null;
      delete w.posEmbeddings;
      delete w.normBias;
      transferred.add(w);
    }
    return LlamaModel.assemble(
      backend,
      checkpoint.fileName ?? 'model',
      c,
      uploaded,
      checkpoint.storedDtypes,
      held,
    );
  }

  /**
   * Load a model whose weights arrive one stored tensor at a time (a download: see
   * runtime/sources/hub-model.ts), so the host never holds more than the tensor in flight: each
   * `add(place)` runs a tensor table entry's `place` on a blank weights object and hands every
   * array it filled to the backend at once (`adoptTensor`; on WebGPU the array's buffer is then
   * detached, which frees it now rather than at the next garbage collection, so callers must not
   * keep views of what they placed). `finish()` checks that every weight arrived and returns the
   * model; `dispose()` frees what was uploaded when the load is abandoned (a cancel, a bad tensor).
   *
   * @example
   * const load = LlamaModel.incremental(backend, plan.config, { fileName: plan.fileName, storedDtypes: plan.storedDtypes });
   * for (const t of plan.tensors) load.add((w) => t.entry.place(await fetchFloat32(t), w));
   * const model = load.finish();
   */
  static incremental(
    backend: Backend,
    config: LlamaConfig,
    meta: { fileName: string; storedDtypes?: readonly string[]; maxTensorBytes?: number },
  ): IncrementalLoad {
    type Slot = Tensor<FloatDType> | RowChunks;
    const slots: (Slot | undefined)[] = [];
    const held = new Set<WeightDType>();
    let state: 'open' | 'finished' | 'disposed' = 'open';
    const open = () => {
      if (state !== 'open') throw new Error(`${meta.fileName}: this incremental load is ${state}`);
    };
    const maxBytes = tensorLimit(backend, meta.maxTensorBytes);
    const adopt = weightUpload(backend, true);
    const unused = undefined as never;
    const slotsTensors = (x: Slot | undefined) => (!x ? [] : 'parts' in x ? chunkTensors(x) : [x]);
    return {
      add(place) {
        open();
        const w = blankWeights(config);
        place(w);
        let k = 0;
        // Weight k of the upload order: adopted by the backend (its host array freed on WebGPU).
        const take = (data: WeightArray, shape: number[], make: () => Slot) => {
          const i = k++;
          const n = weightLength(data);
          if (n === 0) return unused;
          if (slots[i]) throw new Error(`${meta.fileName}: weight ${i} [${shape.join(', ')}] arrived twice`);
          if (n !== sizeOf(shape)) {
            throw new Error(`${meta.fileName}: weight ${i} has ${n} values, expected [${shape.join(', ')}]`);
          }
          slots[i] = make();
          if (shape.length > 1) held.add(weightDTypeOf(data));
          if (backend.kind !== 'cpu') releaseHostArray(data);
          return unused;
        };
        uploadWeights(
          backend,
          config,
          w,
          ((data: WeightArray, shape: number[]) =>
            take(data, shape, () => adopt(data, shape))) as WeightUpload,
          (data, rows, cols) =>
            take(data, [rows, cols], () => uploadRowChunks(adopt, data, rows, cols, maxBytes)),
        );
      },
      finish() {
        open();
        let k = 0;
        const missing: string[] = [];
        const next = (shape: number[]) => {
          const t = slots[k++];
          if (!t) missing.push(`[${shape.join(', ')}]`);
          return (t ?? unused) as never;
        };
        const uploaded = uploadWeights(
          backend,
          config,
          blankWeights(config),
          ((_: WeightArray, shape: number[]) => next(shape)) as WeightUpload,
          (_, rows, cols) => next([rows, cols]),
        );
        if (missing.length > 0) {
          throw new Error(
            `${meta.fileName}: ${missing.length} weight${missing.length === 1 ? '' : 's'} never arrived (${missing.slice(0, 5).join(', ')})`,
          );
        }
        state = 'finished';
        return LlamaModel.assemble(backend, meta.fileName, config, uploaded, meta.storedDtypes, [...held]);
      },
      dispose() {
        if (state !== 'open') return;
        state = 'disposed';
        backend.dispose(...slots.flatMap(slotsTensors));
        slots.length = 0;
      },
    };
  }

  /**
   * The shape of every weight tensor a model of `config` holds on its backend, in upload order
   * (memory planning before a download: bytes per tensor, the total), before any split by rows.
   */
  static weightShapes(config: LlamaConfig): number[][] {
    const shapes: number[][] = [];
    // The backend is never called: the uploads record the shapes.
    uploadWeights(
      undefined as unknown as Backend,
      config,
      blankWeights(config),
      ((_: WeightArray, shape: number[]) => (shapes.push(shape), undefined)) as unknown as WeightUpload,
      (_, rows, cols) => (shapes.push([rows, cols]), undefined as never),
    );
    return shapes;
  }

  private static assemble(
    backend: Backend,
    name: string,
    c: LlamaConfig,
    d: UploadedWeights,
    storedDtypes: readonly string[] = ['F32'],
    held: readonly WeightDType[] = ['f32'],
  ): LlamaModel {
    const precision = weightPrecisionOf(backend, storedDtypes, held.length ? held : ['f32']);
    return new LlamaModel(backend, name, c, d.emb, d.layers, d.norm, d.output, d.extra, precision);
  }

  /** A KV cache sized for this model (capacity defaults to seqLen). Dispose it when done. */
  createKvCache(capacity?: number): KvCache {
    this.assertUsable();
    return new KvCache(this.backend, this.config, capacity);
  }

  /**
   * Logits [T, vocabSize] for `tokens` (T ≥ 1) at positions pos0..pos0+T-1. The caller owns the
   * returned tensor and must dispose it. Hooks run in execution order and may be async.
   *
   * @example
   * // An MoE model with expert 2 switched off in every layer and top-1 routing in layer 0:
   * const logits = await model.forward(tokens, { moe: { disabledExperts: [2], layers: { 0: { forceTopK: 1 } } } });
   * @throws HookError / MoeInterventionError / RangeError before anything runs, for bad hooks,
   *   interventions, token ids or positions.
   */
  async forward(
    tokens: Int32Array | readonly number[],
    options: ForwardOptions = {},
  ): Promise<Tensor<'f32'>> {
    this.assertUsable();
    const { hooks, kvCache } = options;
    const ids = tokens instanceof Int32Array ? tokens : Int32Array.from(tokens);
    const pos0 = this.checkPositions(ids, options.pos0, kvCache);
    if (options.attentionProbe && kvCache)
      throw new Error('attentionProbe needs a forward pass without a KV cache');
    if (hooks) validateHooks(hooks, this.config);
    const routes = resolveMoeRouting(this.config, options.moe);
    const layers = this.withOverrides(options.weights);

    const b = this.backend;
    const scope = new TensorScope(b);
    try {
      let x = await this.embed(ids, pos0, scope, hooks);
      for (let l = 0; l < this.config.nLayers; l++) {
        const cache = kvCache ? { k: kvCache.k[l]!, v: kvCache.v[l]! } : undefined;
        x = await llamaBlock(x, {
          backend: b,
          config: this.config,
          weights: layers[l]!,
          layer: l,
          hooks,
          scope,
          pos0,
          cache,
          route: routes?.[l],
          probe: options.attentionProbe,
        });
      }
      const logits = await this.head(x, pos0, scope, hooks, options.lastLogitsOnly === true);
      if (kvCache) kvCache.length = pos0 + ids.length;
      return scope.release(logits);
    } finally {
      scope.disposeAll();
    }
  }

  /** The residual stream entering block 0: token embeddings (scaled), plus learned positions. */
  private async embed(ids: Int32Array, pos0: number, scope: TensorScope, hooks: Hooks | undefined) {
    const b = this.backend;
    const block = blockOf(this.config);
    const ctx = { layer: null, pos0, backend: b };
    const onReplaced = (o: Tensor, r: Tensor) => scope.replace(o, r);
    const idTensor = scope.own(b.tensor<'i32'>(ids, [ids.length]));
    let x = embedRows(b, this.tokEmbeddings, idTensor, scope);
    scope.drop(idTensor);
    if (block.embedScale !== undefined && block.embedScale !== 1) {
      const scaled = scope.own(b.rowAffine(x, { scale: block.embedScale }));
      scope.drop(x);
      x = scaled;
    }
    x = await runHook(hooks, 'hook_embed', x, ctx, onReplaced);
    const positions = this.extra.posEmbeddings;
    if (!positions) return x;
    const posIds = scope.own(
      b.tensor<'i32'>(
        Int32Array.from(ids, (_, i) => pos0 + i),
        [ids.length],
      ),
    );
    let pos = scope.own(b.embedding(positions, posIds));
    scope.drop(posIds);
    pos = await runHook(hooks, 'hook_pos_embed', pos, ctx, onReplaced);
    const sum = scope.own(b.add(x, pos));
    scope.drop(x, pos);
    return sum;
  }

  /** Final norm, unembedding, soft-cap and logit scale of the last residual stream (consumed). */
  private async head(
    x: Tensor<'f32'>,
    pos0: number,
    scope: TensorScope,
    hooks: Hooks | undefined,
    lastOnly: boolean,
  ) {
    const b = this.backend;
    const c = this.config;
    const block = blockOf(c);
    const ctx = { layer: null, pos0, backend: b };
    const onReplaced = (o: Tensor, r: Tensor) => scope.replace(o, r);
    let normed = scope.own(
      block.norm === 'layer'
        ? b.layernorm(x, this.norm, this.extra.normBias, c.normEps)
        : b.rmsnorm(x, this.norm, c.normEps),
    );
    scope.drop(x);
    normed = await runHook(hooks, 'ln_final.hook_normalized', normed, ctx, onReplaced);
    const rows = normed.shape[0]!;
    if (lastOnly && rows > 1) {
      // A gather of one row (embedding over the normed rows as its table).
      const id = scope.own(b.tensor<'i32'>(Int32Array.of(rows - 1), [1]));
      const last = scope.own(b.embedding(normed, id));
      scope.drop(id, normed);
      normed = last;
    }
    let logits = unembedRows(b, normed, this.output, scope);
    scope.drop(normed);
    if (block.logitScale !== undefined && block.logitScale !== 1) {
      const scaled = scope.own(b.rowAffine(logits, { scale: block.logitScale }));
      scope.drop(logits);
      logits = scaled;
    }
    if (block.finalSoftcap !== undefined) {
      const capped = scope.own(b.softcap(logits, block.finalSoftcap));
      scope.drop(logits);
      logits = capped;
    }
    return runHook(hooks, 'hook_logits', logits, ctx, onReplaced);
  }

  /** Shape [out, in] of a block's linear weight (dense FFN names only exist in dense models). */
  weightShape(name: LinearWeightName): [number, number] {
    const { dim, kvDim, hiddenDim } = this.config;
    const qDim = qDimOf(this.config);
    const shapes: Record<LinearWeightName, [number, number]> = {
      wq: [qDim, dim],
      wk: [kvDim, dim],
      wv: [kvDim, dim],
      wo: [dim, qDim],
      w1: [hiddenDim, dim],
      w2: [dim, hiddenDim],
      w3: [hiddenDim, dim],
    };
    return shapes[name];
  }

  /**
   * The linear weights each block of this model has, in LINEAR_WEIGHTS order: all seven for a
   * gated FFN, no w3 for a plain one (GPT-2, NeoX), only the attention's for an MoE.
   */
  get linearWeights(): readonly LinearWeightName[] {
    if (this.config.moe) return ['wq', 'wk', 'wv', 'wo'];
    return blockOf(this.config).gated ? LINEAR_WEIGHTS : LINEAR_WEIGHTS.filter((n) => n !== 'w3');
  }

  /** The loaded (dense) weight `name` of block `layer`, read back to the host, [out, in] row-major. */
  async readWeight(layer: number, name: LinearWeightName): Promise<Float32Array> {
    this.assertUsable();
    return readFloat32(this.backend, this.weight(layer, name));
  }

  /**
   * Every weight read back to the host (a dense model's), e.g. to save a pruned copy.
   * @throws for an MoE model (its experts are not read back yet).
   */
  async readWeights(): Promise<LlamaWeights> {
    this.assertUsable();
    const b = this.backend;
    const layers = await Promise.all(
      this.layers.map(async (w) => {
        if (w.kind !== 'dense') throw new Error('readWeights: only dense models can be read back');
        const { kind: _kind, ...parts } = w;
        const read = await Promise.all(
          Object.entries(parts).map(
            async ([k, t]) => [k, await readFloat32(b, t as Tensor<FloatDType>)] as const,
          ),
        );
        const layer = emptyLayer();
        for (const [k, data] of read) (layer as unknown as Record<string, Float32Array>)[k] = data;
        return layer;
      }),
    );
    const shared = this.output === this.tokEmbeddings;
    const { posEmbeddings, normBias } = this.extra;
    return {
      tokEmbeddings: await readRows(b, this.tokEmbeddings),
      layers,
      norm: await b.read(this.norm),
      output: shared ? null : await readRows(b, this.output),
      ...(posEmbeddings ? { posEmbeddings: await readFloat32(b, posEmbeddings) } : {}),
      ...(normBias ? { normBias: await b.read(normBias) } : {}),
    };
  }

  /** The loaded (dense) device tensor of a block's linear weight, borrowed: do not dispose it. */
  weight(layer: number, name: LinearWeightName): Tensor<FloatDType> {
    const w = this.layers[layer];
    if (!w) throw new RangeError(`layer ${layer} does not exist (the model has ${this.config.nLayers})`);
    if (w.kind === 'moe' && (name === 'w1' || name === 'w2' || name === 'w3')) {
      throw new Error(`${name} exists only in dense models; this model's FFN is a mixture of experts`);
    }
    const t = (w as Partial<Record<LinearWeightName, Tensor<FloatDType>>>)[name];
    if (!t) throw new Error(`${name} does not exist in this model: its FFN is not gated (w1, w2 only)`);
    return t;
  }

  /** The layers with `overrides` swapped in, after checking each replacement's layer, name and shape. */
  private withOverrides(overrides: LayerWeightOverrides | undefined): readonly DeviceLayerWeights[] {
    if (!overrides) return this.layers;
    const out = [...this.layers];
    for (const [key, replaced] of Object.entries(overrides)) {
      const layer = Number(key);
      for (const [name, t] of Object.entries(replaced) as [
        LinearWeightName,
        Tensor<FloatDType> | undefined,
      ][]) {
        if (!t) continue;
        if (!(LINEAR_WEIGHTS as readonly string[]).includes(name)) {
          throw new Error(`weights: "${name}" is not a replaceable weight (${LINEAR_WEIGHTS.join(', ')})`);
        }
        const loaded = this.weight(layer, name);
        if (t.backend !== loaded.backend || t.shape.join() !== loaded.shape.join()) {
          throw new Error(
            `weights: blocks.${layer}.${name} replacement is a ${t.backend} tensor [${t.shape.join(', ')}]; expected ${loaded.backend} [${loaded.shape.join(', ')}]`,
          );
        }
      }
      out[layer] = { ...out[layer]!, ...replaced } as DeviceLayerWeights;
    }
    return out;
  }

  /** Free all weight tensors; the model is unusable afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const shared = this.output === this.tokEmbeddings;
    this.backend.dispose(...chunkTensors(this.tokEmbeddings), this.norm);
    if (!shared) this.backend.dispose(...chunkTensors(this.output));
    this.backend.dispose(this.extra.posEmbeddings, this.extra.normBias);
    for (const l of this.layers) this.backend.dispose(...layerTensors(l));
  }

  /**
   * Read a residual stream [T, dim] through the model's own head — final norm, unembedding, logit
   * scale and soft-cap — as the logit lens does for each layer. `residual` is not consumed; at the
   * last layer this gives exactly the model's logits.
   *
   * @example
   * const logits = await model.readout(residualOfLayer3); // [T, vocabSize]
   */
  async readout(residual: Tensor<'f32'>): Promise<Tensor<'f32'>> {
    this.assertUsable();
    const scope = new TensorScope(this.backend);
    try {
      // head() consumes its input, so it gets a copy.
      const copy = scope.own(this.backend.rowAffine(residual, { scale: 1 }));
      return scope.release(await this.head(copy, 0, scope, undefined, false));
    } finally {
      scope.disposeAll();
    }
  }

  /**
   * The head's parameters on the host, for attributions that freeze the final norm's scale
   * (direct logit attribution): norm kind, weight (Gemma's 1 + w already folded), bias, eps, the
   * logit scale and final soft-cap, and the unembedding rows of `tokenIds` [n × dim].
   */
  async readHead(tokenIds: readonly number[]): Promise<{
    norm: 'rms' | 'layer';
    weight: Float32Array;
    bias?: Float32Array;
    eps: number;
    logitScale: number;
    finalSoftcap?: number;
    unembedding: Float32Array;
  }> {
    this.assertUsable();
    const b = this.backend;
    const block = blockOf(this.config);
    const scope = new TensorScope(b);
    const ids = scope.own(b.tensor<'i32'>(Int32Array.from(tokenIds), [tokenIds.length]));
    // Rows of the (possibly split, possibly 16-bit) unembedding, gathered as float32.
    const rows = embedRows(b, this.output, ids, scope);
    try {
      return {
        norm: block.norm === 'layer' ? 'layer' : 'rms',
        weight: await b.read(this.norm),
        bias: this.extra.normBias ? await b.read(this.extra.normBias) : undefined,
        eps: this.config.normEps,
        logitScale: block.logitScale ?? 1,
        finalSoftcap: block.finalSoftcap,
        unembedding: await b.read(rows),
      };
    } finally {
      scope.disposeAll();
    }
  }

  private assertUsable(): void {
    if (this.disposed) throw new Error('LlamaModel used after dispose()');
  }

  /** Validate token ids and positions up front: a bad id deep in a GPU kernel gives zeros, not an error. */
  private checkPositions(
    ids: Int32Array,
    pos0Option: number | undefined,
    cache: KvCache | undefined,
  ): number {
    const { vocabSize, seqLen } = this.config;
    if (ids.length === 0) throw new RangeError('forward: no tokens');
    for (let i = 0; i < ids.length; i++) {
      const t = ids[i]!;
      if (t < 0 || t >= vocabSize) {
        throw new RangeError(
          `forward: token id ${t} at index ${i} is outside the vocabulary [0, ${vocabSize})`,
        );
      }
    }
    const pos0 = pos0Option ?? cache?.length ?? 0;
    if (!Number.isInteger(pos0) || pos0 < 0)
      throw new RangeError(`forward: pos0 ${pos0} must be a non-negative integer`);
    const limit = cache ? cache.capacity : seqLen;
    if (pos0 + ids.length > limit) {
      throw new RangeError(
        `forward: positions ${pos0}..${pos0 + ids.length - 1} exceed the ${cache ? 'KV cache capacity' : 'model seq_len'} ${limit}`,
      );
    }
    if (cache) {
      cache.assertUsable();
      if (cache.config.nLayers !== this.config.nLayers || cache.config.kvDim !== this.config.kvDim) {
        throw new Error('forward: the KV cache was made for a different model');
      }
      if (pos0 > cache.length) {
        throw new RangeError(
          `forward: pos0 ${pos0} would leave a gap after the ${cache.length} cached positions`,
        );
      }
    }
    return pos0;
  }
}

/** The largest tensor a model may put on `backend`: its limit, or a smaller one asked for (tests). */
function tensorLimit(backend: Backend, asked: number | undefined): number {
  if (asked !== undefined && !(asked > 0)) throw new RangeError(`maxTensorBytes ${asked} must be positive`);
  return Math.min(backend.maxTensorBytes, asked ?? Infinity);
}

/** Element types of a checkpoint's matrices and embeddings (norms and biases are f32 anyway). */
function heldDTypes(w: StoredWeights): WeightDType[] {
  const all: WeightArray[] = [w.tokEmbeddings, ...(w.output ? [w.output] : [])];
  for (const l of w.layers) {
    all.push(l.wq, l.wk, l.wv, l.wo, l.w1, l.w2, l.w3);
    if (l.moe) all.push(l.moe.router, ...l.moe.experts.flatMap((x) => [x.w1, x.w2, x.w3]));
  }
  return [...new Set(all.filter((a) => weightLength(a) > 0).map(weightDTypeOf))];
}

/** A weight read back as float32 (16-bit ones decoded). */
async function readFloat32(b: Backend, t: Tensor<FloatDType>): Promise<Float32Array> {
  const data = await b.read(t);
  return t.dtype === 'f32'
    ? (data as Float32Array)
    : toFloat32({ dtype: t.dtype, bits: data as Uint16Array });
}

/** A weight held in row blocks, read back whole as float32. */
async function readRows(b: Backend, w: RowChunks): Promise<Float32Array> {
  const out = new Float32Array(w.rows * w.cols);
  for (const { row0, tensor } of w.parts) out.set(await readFloat32(b, tensor), row0 * w.cols);
  return out;
}
