/** The Sparsebook version (package.json), stamped into reports and shown in their provenance. */
import pkg from '../package.json' with { type: 'json' };

export const SPARSEBOOK_VERSION: string = pkg.version;
