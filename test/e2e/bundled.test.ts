/**
 * A first visit opens on the bundled dense model with nothing to pick: the default notebook loads
 * public/models/sparsebook-dense (HF config.json + model.safetensors + tokenizer.bin) in the worker
 * and its model view runs. On WebGPU (SwiftShader); a missing adapter fails. And on the CPU
 * (`?backend=cpu`): the runtime worker's WebAssembly kernels run on a pool of threads, since the app
 * is served cross-origin isolated.
 */
import { describe, expect, it } from 'vitest';
import { cells, expectBackend, newAppContext, openPage, screenshot, useApp, waitCell } from './app-server';

const session = useApp();

describe('bundled default model', () => {
  it('opens with the dense bundled model loaded and runs the default notebook', async () => {
    const context = await newAppContext(session.app);
    try {
      const { page, errors } = await openPage(context, session.app.baseUrl);
      await expectBackend(page, /WebGPU/);
      await waitCell(page, 1, 'done');
      const facts = await cells(page).nth(1).getByTestId('model-facts').innerText();
      expect(facts).toMatch(/Layers\s*4/);
      expect(facts).toMatch(/d_model\s*128/);
      expect(facts).toMatch(/Vocab\s*4,096/);
      expect(await cells(page).nth(1).locator('.files').textContent()).toMatch(
        /model\.safetensors \+ tokenizer\.bin/,
      );
      await page.getByRole('button', { name: 'Run all' }).click();
      await waitCell(page, 3, 'done');
      expect(await cells(page).nth(3).getByTestId('head').count()).toBe(4);
      await screenshot(page, 'bundled-default');
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('runs the default notebook on the CPU backend with WebAssembly kernels on threads', async () => {
    const context = await newAppContext(session.app);
    try {
      const { page, errors } = await openPage(context, `${session.app.baseUrl}?backend=cpu`);
      const cores = await page.evaluate(() => navigator.hardwareConcurrency);
      expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
      const threads = cores > 1 ? `${cores} threads` : '1 thread';
      await expectBackend(
        page,
        new RegExp(`^CPU \\(WebAssembly (relaxed SIMD \\(FMA\\)|SIMD), ${threads}\\)$`),
      );
      await waitCell(page, 1, 'done');
      await page.getByRole('button', { name: 'Run all' }).click();
      await waitCell(page, 3, 'done');
      expect(await cells(page).nth(3).getByTestId('head').count()).toBe(4);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
