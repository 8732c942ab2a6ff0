/**
 * The e2e project's global setup: build the app once (test/e2e/app-build.ts) for every e2e file to
 * serve (test/e2e/app-server.ts), instead of each file building it again; removed after the run.
 */
import type { TestProject } from 'vitest/node';
import { buildApp } from './app-build';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The built app's folder (see test/e2e/global-setup.ts). */
    appDist: string;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  const built = await buildApp();
  project.provide('appDist', built.outDir);
  return built.remove;
}
