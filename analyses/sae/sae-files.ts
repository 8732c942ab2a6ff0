/**
 * An SAE to and from its files (catalogue.ts: the files table): SAELens `cfg.json` + `sae_weights.safetensors`,
 * plus `itda.json` holding an ITDA dictionary's matching-pursuit width.
 */
import type { LlamaModel } from '../../runtime/model/llama';
import type { LoadedSae } from './codec';
import { checkSaeHook } from './collect';
import { ITDA_FILE } from './catalogue';
import { exportSaeLens, importSaeLens, readItdaK, SAELENS_CFG_FILE, SAELENS_WEIGHTS_FILE } from './saelens';
import { widthAt, type TrainKind } from './train';

/** SAELens files of an SAE (plus the ITDA width for ITDA dictionaries). */
export function saeFiles(sae: LoadedSae, modelName: string): Record<string, Uint8Array> {
  const { cfgJson, weights } = exportSaeLens(sae.cfg, sae.params, {
    modelName,
    ...(sae.source?.neuronpedia ? { neuronpedia: sae.source.neuronpedia } : {}),
  });
  const files: Record<string, Uint8Array> = {
    [SAELENS_CFG_FILE]: new TextEncoder().encode(cfgJson),
    [SAELENS_WEIGHTS_FILE]: weights,
  };
  if (sae.itda) files[ITDA_FILE] = new TextEncoder().encode(JSON.stringify({ k: sae.itda.k }));
  return files;
}

/** Rebuild an SAE from `saeFiles`' output, checked against the model's width at its hook. */
export async function loadSaeFiles(
  model: LlamaModel,
  files: Record<string, Uint8Array>,
  hook: string | undefined,
): Promise<{ sae: LoadedSae; kind: TrainKind }> {
  const cfgJson = files[SAELENS_CFG_FILE];
  const weights = files[SAELENS_WEIGHTS_FILE];
  if (!cfgJson || !weights)
    throw new Error(
      `an SAE needs ${SAELENS_CFG_FILE} and ${SAELENS_WEIGHTS_FILE}; got ${Object.keys(files).join(', ') || 'no files'}`,
    );
  // The hook is checked first on its own, so the width check below reads the right activation.
  const probe = importSaeLens({ cfgJson, weights }, hook ? { hookName: hook } : {});
  const dIn = await widthAt(model, checkSaeHook(model.config, probe.cfg.hookName), new Int32Array([1]));
  const { cfg, params, source } = importSaeLens({ cfgJson, weights }, { dIn, hookName: probe.cfg.hookName });
  const itda = files[ITDA_FILE];
  if (itda) {
    const k = readItdaK(itda, ITDA_FILE);
    const dict = {
      dIn: cfg.dIn,
      size: cfg.dSae,
      atoms: params.wDec,
      sources: new Int32Array(cfg.dSae).fill(-1),
    };
    return { sae: { cfg, params, itda: { dict, k } }, kind: 'itda' };
  }
  return { sae: { cfg, params, ...(source ? { source } : {}) }, kind: cfg.kind };
}
