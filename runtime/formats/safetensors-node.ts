/**
 * Node only: a safetensors file read from its file handle on demand, tensor by tensor, instead of
 * whole into memory (the CLI and benches; browsers use `parseSafetensors` on the file's bytes).
 * Kept apart from safetensors.ts so browser bundles never import `node:fs`.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import path from 'node:path';
import { ModelFormatError } from '../errors';
import { hfCheckpoint, type HfCheckpoint } from './hf-checkpoint';
import { parseHfConfig } from './hf-config';
import { readSafetensors, type SafetensorsFile, type SafetensorsSource } from './safetensors';

/**
 * Open a safetensors file lazily: only the header is read and validated now; each tensor's bytes
 * are read from the file when `float32`, `int32` or `raw` asks for them, into an array the caller
 * then owns. Call `close()` when done (after `hfCheckpoint`).
 *
 * @example
 * const st = openSafetensorsFile('gpt2/model.safetensors');
 * try {
 *   const ckpt = hfCheckpoint(parseHfConfig(readFileSync('gpt2/config.json'), 'config.json'), [st]);
 *   const model = LlamaModel.load(createCpuBackend(), ckpt, { transfer: true });
 * } finally {
 *   st.close();
 * }
 * @throws ModelFormatError naming the file when it cannot be opened or its header is bad (see
 *   `parseSafetensors`), and later when a read comes up short (the file shrank since it was opened).
 */
export function openSafetensorsFile(
  file: string,
  fileName = path.basename(file),
  opts: { maxHeaderBytes?: number } = {},
): SafetensorsFile {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModelFormatError(fileName, `cannot open ${file} (${code ?? (e as Error).message})`);
  }
  const byteLength = fstatSync(fd).size;
  const source: SafetensorsSource = {
    byteLength,
    readInto(target, begin) {
      if (fd === undefined) throw new ModelFormatError(fileName, 'read after the file was closed');
      let done = 0;
      while (done < target.byteLength) {
        const n = readSync(fd, target, done, target.byteLength - done, begin + done);
        if (n === 0) {
          throw new ModelFormatError(
            fileName,
            `truncated safetensors file: ${byteLength} bytes when opened, but the read at byte ${begin + done} found its end`,
          );
        }
        done += n;
      }
    },
    close() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
  try {
    return readSafetensors(source, fileName, opts);
  } catch (e) {
    source.close!();
    throw e;
  }
}

/**
 * An HF checkpoint read lazily from disk: config.json and the weight file(s) (one file or the
 * shards of one checkpoint), each tensor read from its file as the table maps it, every file
 * closed before returning. Pair it with `LlamaModel.load(backend, ckpt, { transfer: true })` to hold
 * the weights once (README "Precision").
 *
 * @example
 * const ckpt = readHfCheckpoint('gpt2/config.json', ['gpt2/model.safetensors']);
 * const model = LlamaModel.load(createCpuBackend(), ckpt, { transfer: true });
 * @throws ModelFormatError naming the file, as `parseHfConfig`, `openSafetensorsFile` and
 *   `hfCheckpoint`.
 */
export function readHfCheckpoint(configFile: string, weightFiles: readonly string[]): HfCheckpoint {
  const configName = path.basename(configFile);
  let configBytes: Uint8Array;
  try {
    configBytes = readFileSync(configFile);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModelFormatError(configName, `cannot read ${configFile} (${code ?? (e as Error).message})`);
  }
  const parsed = parseHfConfig(configBytes, configName);
  const files: SafetensorsFile[] = [];
  try {
    for (const f of weightFiles) files.push(openSafetensorsFile(f));
    return hfCheckpoint(parsed, files, configName);
  } finally {
    for (const f of files) f.close();
  }
}
