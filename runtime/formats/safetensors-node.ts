/**
 * Node only: a safetensors file read from its file handle on demand, tensor by tensor, instead of
 * whole into memory (the CLI and benches; browsers use `parseSafetensors` on the file's bytes).
 * Kept apart from safetensors.ts so browser bundles never import `node:fs`.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import { ModelFormatError } from '../errors';
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
