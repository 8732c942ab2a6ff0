/**
 * Reader for llama2.c checkpoints (legacy and version 1, float32). See `llama2c-layout.ts` for the
 * byte layout. Weights come back as Float32Array VIEWS into the given buffer (zero copy; a 7B file
 * must not be held twice), so copy a tensor before mutating it if the buffer is shared. Float data
 * are read in the platform's byte order; every browser and Node target is little-endian, as the
 * files are.
 */
import { formatCount, ModelFormatError } from '../errors';
import { firstNonFinite } from '../numeric';
import {
  llamaConfig,
  type LlamaConfig,
  type LlamaLayerWeights,
  type LlamaLayerMatrixKey,
  type LlamaWeights,
} from '../model/llama-config';
import {
  floatCount,
  LEGACY_HEADER_BYTES,
  LLAMA2C_MAGIC,
  sections,
  V1_HEADER_BYTES,
  validateHeader,
  type Llama2cVersion,
} from './llama2c-layout';

/** A parsed checkpoint: hyper-parameters, host weights and where they came from. */
export interface Llama2cCheckpoint {
  config: LlamaConfig;
  weights: LlamaWeights;
  /** 0 = legacy header, 1 = "ak42" version 1. */
  version: Llama2cVersion;
  fileName: string;
}

/**
 * Parse a llama2.c `.bin` checkpoint.
 *
 * @example
 * const ckpt = parseLlama2c(await file.arrayBuffer(), file.name);
 * ckpt.config.dim; // 64 for stories260K
 * @throws ModelFormatError naming `fileName` when the file is truncated, too long, of another
 *   format or version, or has an impossible header.
 */
export function parseLlama2c(bytes: ArrayBuffer | Uint8Array, fileName: string): Llama2cCheckpoint {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const { config, version, headerBytes } = readHeader(u8, fileName);
  const floats = floatCount(config, version);
  const expected = headerBytes + floats * 4;
  if (u8.byteLength !== expected)
    sizeMismatch(u8.byteLength, expected, floats, headerBytes, config, version, fileName);

  // Float32Array views need a 4-byte aligned offset; a Uint8Array slice may not have one.
  // Uint8Array.prototype.slice copies even for a Node Buffer (whose own slice is a view).
  const aligned = u8.byteOffset % 4 === 0 ? u8 : Uint8Array.prototype.slice.call(u8);
  const data = new Float32Array(aligned.buffer, aligned.byteOffset + headerBytes, floats);
  const layers: Partial<LlamaLayerWeights>[] = Array.from({ length: config.nLayers }, () => ({}));
  const globals: Record<string, Float32Array> = {};
  let offset = 0;
  const take = (n: number, what: string): Float32Array => {
    const part = data.subarray(offset, (offset += n));
    const bad = firstNonFinite(part);
    if (bad >= 0) {
      throw new ModelFormatError(
        fileName,
        `${what} holds a non-finite value (${part[bad]}) at index ${formatCount(bad)}`,
      );
    }
    return part;
  };
  for (const s of sections(config, version)) {
    if (s.perLayer) {
      const key = s.key as LlamaLayerMatrixKey;
      layers.forEach((layer, l) => (layer[key] = take(s.count, `layer ${l} ${key}`)));
    } else {
      globals[s.key] = take(s.count, s.key);
    }
  }
  const weights: LlamaWeights = {
    tokEmbeddings: globals.tokEmbeddings!,
    layers: layers as LlamaLayerWeights[],
    norm: globals.norm!,
    output: globals.output ?? null,
  };
  return { config, weights, version, fileName };
}

/** Parse only the header (cheap; for showing model info before loading). */
export function readLlama2cHeader(
  bytes: ArrayBuffer | Uint8Array,
  fileName: string,
): { config: LlamaConfig; version: Llama2cVersion; headerBytes: number } {
  return readHeader(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes), fileName);
}

function readHeader(u8: Uint8Array, file: string) {
  if (u8.byteLength < LEGACY_HEADER_BYTES) {
    throw new ModelFormatError(
      file,
      `truncated checkpoint: the file has ${formatCount(u8.byteLength)} bytes, fewer than the ${LEGACY_HEADER_BYTES}-byte llama2.c header`,
    );
  }
  rejectOtherFormats(u8, file);
  const view = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  const int = (i: number) => view.getInt32(i * 4, true);

  if (view.getUint32(0, true) === LLAMA2C_MAGIC) {
    if (u8.byteLength < V1_HEADER_BYTES) {
      throw new ModelFormatError(
        file,
        `truncated checkpoint: version-1 magic "ak42" found but the file has ${formatCount(u8.byteLength)} bytes, fewer than the ${V1_HEADER_BYTES}-byte header`,
      );
    }
    const version = int(1);
    if (version !== 1) {
      const hint = version === 2 ? ' (version 2 is the int8-quantized export)' : '';
      throw new ModelFormatError(
        file,
        `unsupported llama2.c checkpoint version ${version}${hint}; supported: legacy (no magic) and version 1 float32`,
      );
    }
    const ints = Array.from({ length: 7 }, (_, i) => int(2 + i));
    const flag = u8[36]!;
    if (flag > 1) {
      throw new ModelFormatError(
        file,
        `invalid version-1 header: shared_classifier flag is ${flag}, expected 0 or 1`,
      );
    }
    const dims = validateHeader(ints, flag === 1, file);
    return { config: llamaConfig(dims), version: 1 as const, headerBytes: V1_HEADER_BYTES };
  }

  const ints = Array.from({ length: 7 }, (_, i) => int(i));
  if (ints[0]! > 1 << 16) {
    const magic = view.getUint32(0, true).toString(16).padStart(8, '0');
    throw new ModelFormatError(
      file,
      `not a llama2.c checkpoint: the first 4 bytes (0x${magic}) are neither the version-1 magic 0x616b3432 ("ak42") nor a plausible legacy dim`,
    );
  }
  // Legacy files mark an unshared classifier with a negative vocab_size (run.c).
  const shared = ints[5]! > 0;
  ints[5] = Math.abs(ints[5]!);
  const dims = validateHeader(ints, shared, file);
  return { config: llamaConfig(dims), version: 0 as const, headerBytes: LEGACY_HEADER_BYTES };
}

/** Name the common wrong files outright instead of reporting a nonsense header. */
function rejectOtherFormats(u8: Uint8Array, file: string): void {
  const ascii = String.fromCharCode(...u8.subarray(0, 4));
  if (ascii === 'GGUF') {
    throw new ModelFormatError(file, 'not a llama2.c checkpoint: this is a GGUF file (magic "GGUF")');
  }
  // safetensors: uint64 little-endian JSON header length, then '{'.
  if (u8.byteLength > 9 && u8[8] === 0x7b && u8[4] === 0 && u8[5] === 0 && u8[6] === 0 && u8[7] === 0) {
    throw new ModelFormatError(file, 'not a llama2.c checkpoint: this looks like a safetensors file');
  }
}

function sizeMismatch(
  actual: number,
  expected: number,
  floats: number,
  headerBytes: number,
  config: LlamaConfig,
  version: Llama2cVersion,
  file: string,
): never {
  const declared = `header declares ${formatCount(floats)} weights (${formatCount(expected)} bytes including the ${headerBytes}-byte header)`;
  const classifierBytes = config.vocabSize * config.dim * 4;
  const diff = Math.abs(actual - expected);
  // A wrong sign of vocab_size (legacy) or a wrong flag (v1) shifts the size by one classifier.
  const flagName = version === 0 ? 'the sign of vocab_size' : 'the shared_classifier flag';
  const hint =
    diff === classifierBytes
      ? `; the difference is exactly one [vocab, dim] classifier: is ${flagName} wrong?`
      : '';
  if (actual < expected) {
    throw new ModelFormatError(
      file,
      `truncated checkpoint: ${declared} but the file has ${formatCount(actual)} bytes (${formatCount(diff)} missing)${hint}`,
    );
  }
  throw new ModelFormatError(
    file,
    `checkpoint size disagrees with its header: ${declared} but the file has ${formatCount(actual)} bytes (${formatCount(diff)} extra)${hint}`,
  );
}
