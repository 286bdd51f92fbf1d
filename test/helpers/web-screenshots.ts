// The web suites' screenshots: every page at desktop and phone width, into one directory
// (test-artifacts/screenshots, or $BUILDER_SCREENSHOTS) for someone to look at.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';

export const SHOTS = process.env.BUILDER_SCREENSHOTS ?? join(import.meta.dirname, '..', '..', 'test-artifacts', 'screenshots');
export const WIDTHS = [1280, 390] as const;

let announced = false;

/** `<name>-1280.png` and `<name>-390.png`, full page; the viewport is left at desktop width. */
export async function shoot(page: Page, name: string): Promise<void> {
  if (!announced) {
    mkdirSync(SHOTS, { recursive: true });
    process.stdout.write(`# screenshots: ${SHOTS}\n`);
    announced = true;
  }
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    // the page's resize handlers (the visualizations' frames) run before the picture
    await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
    await page.screenshot({ path: join(SHOTS, `${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}
