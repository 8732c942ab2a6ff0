/** Interpretability tools on any loaded model: logit lens, activation patching, direct logit attribution, activation statistics. */
export * from './residual-reads';
export * from './logit-lens';
export * from './patching';
export * from './dla';
export * from './activation-stats';
