/**
 * What `--sae` names, read into the files `loadPretrainedSae` takes: a folder, one file of a
 * folder (params.npz, sae_weights.safetensors, …: its folder is read), a hub id
 * (`hf:ORG/NAME[@REV]/PATH`, through HF_ENDPOINT and the cache, HF_TOKEN for gated repositories),
 * or a release of the bundled table (`gpt2-small-res-jb/blocks.8.hook_resid_pre`, or its label).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { PRETRAINED_SAE_FILES, type PretrainedOptions } from '../../analyses/sae/pretrained';
import { findRelease, releaseHubId, type SaeRelease } from '../../analyses/sae/releases';
import { formatHubId, isHubId, parseHubId } from '../../runtime/sources/hub-id';
import { resolveHubSae } from '../hub-cache';

export interface SaeSourceFiles {
  /** File name → bytes (only the names a pretrained SAE folder uses). */
  files: Record<string, Uint8Array>;
  /** The source as the user gave it, canonicalised (a path or a hub id). */
  name: string;
  /** How a file of it is named in messages. */
  label: (file: string) => string;
  location: NonNullable<PretrainedOptions['location']>;
  release?: SaeRelease;
}

/**
 * @example
 * const src = await readSaeSource('gemma-scope-2b-pt-res-canonical/layer_20/width_16k/canonical');
 * loadPretrainedSae(src.files, { release: src.release, location: src.location, label: src.label });
 * @throws Error naming the path when it cannot be read; HubFetchError for hub failures.
 */
export async function readSaeSource(
  arg: string,
  log: (line: string) => void = (line) => console.error(line),
): Promise<SaeSourceFiles> {
  const kind = await stat(arg).then(
    (s) => (s.isDirectory() ? 'dir' : 'file'),
    (e: NodeJS.ErrnoException) => e.code ?? 'unreadable',
  );
  let release = kind === 'dir' || kind === 'file' ? undefined : findRelease(arg);
  if (release || isHubId(arg)) {
    const id = parseHubId(release ? releaseHubId(release) : arg);
    release ??= findRelease(id);
    const token = process.env.HF_TOKEN || undefined; // a request header only, never printed or cached
    const { dir, files, folder } = await resolveHubSae(id, { ...(token ? { token } : {}), log });
    const name = formatHubId(folder);
    return {
      files: await readNamed(dir, files),
      name,
      label: (f) => (f ? `${name}/${f}` : name),
      location: { repo: id.repo, path: folder.path },
      ...(release ? { release } : {}),
    };
  }
  if (kind !== 'dir' && kind !== 'file') {
    throw new Error(
      `${arg}: cannot read SAE folder or file (${kind}); --sae takes a folder, a file in it, hf:ORG/NAME/PATH or a release (sparsebook sae releases)`,
    );
  }
  const dir = kind === 'dir' ? arg : path.dirname(arg);
  const present = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isFile() && PRETRAINED_SAE_FILES.includes(e.name))
    .map((e) => e.name);
  let names = present;
  if (kind === 'file') {
    const base = path.basename(arg);
    if (!PRETRAINED_SAE_FILES.includes(base)) {
      throw new Error(`${arg}: not an SAE file (expected one of ${PRETRAINED_SAE_FILES.join(', ')})`);
    }
    // That file, and the configs beside it.
    names = present.filter((n) => n === base || n === 'cfg.json' || n === 'config.json');
  }
  return {
    files: await readNamed(dir, names),
    name: dir,
    label: (f) => (f ? path.join(dir, f) : dir),
    location: { path: path.resolve(dir) },
  };
}

async function readNamed(dir: string, names: readonly string[]): Promise<Record<string, Uint8Array>> {
  const out: Record<string, Uint8Array> = {};
  for (const n of names) {
    const file = path.join(dir, n);
    try {
      out[n] = new Uint8Array(await readFile(file));
    } catch (e) {
      throw new Error(
        `${file}: cannot read file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      );
    }
  }
  return out;
}
