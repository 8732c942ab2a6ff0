/** Types of eslint/layers.js for the lint test. */
import type { Rule } from 'eslint';
export declare const LAYERS: readonly string[];
export declare const MAY_IMPORT: Readonly<Record<string, readonly string[]>>;
export declare const MAY_IMPORT_TYPES: Readonly<Record<string, readonly string[]>>;
export declare const APP_VALUE_MODULES: readonly string[];
export declare function layerViolation(from: string, to: string, typeOnly: boolean): string | undefined;
export declare const layersRule: Rule.RuleModule;
declare const plugin: { rules: { layers: Rule.RuleModule } };
export default plugin;
