/**
 * Page-side helpers for OHIF 3.13: open a study in the nnSAM mode, wait until cornerstone has drawn every
 * viewport, run commands, read viewport pixels. All of it goes through what OHIF exposes on window
 * (services, commandsManager, cornerstone).
 */
import type { Page } from 'playwright-core';

export const PANEL = '[data-cy="nnsam-panel"]';

/** Opens /nnsam?StudyInstanceUIDs=<uid> and waits for our panel and rendered viewports. */
export async function openStudy(page: Page, viewerUrl: string, studyInstanceUID: string): Promise<void> {
  await page.goto(`${viewerUrl}/nnsam?StudyInstanceUIDs=${studyInstanceUID}`);
  await page.waitForSelector(PANEL, { timeout: 60_000 });
  await waitForViewportsRendered(page);
}

/** Every cornerstone viewport of every rendering engine reports 'rendered' (and there is at least one). */
export async function waitForViewportsRendered(page: Page, timeout = 60_000): Promise<void> {
  await page.waitForFunction(
    () => {
      const cs = (
        window as unknown as {
          cornerstone?: {
            getRenderingEngines(): Array<{ getViewports(): Array<{ viewportStatus: string }> }>;
          };
        }
      ).cornerstone;
      const viewports = cs?.getRenderingEngines().flatMap((e) => e.getViewports()) ?? [];
      return viewports.length > 0 && viewports.every((v) => v.viewportStatus === 'rendered');
    },
    undefined,
    { timeout, polling: 100 },
  );
}

/** Runs an OHIF command in the page; resolves to its (JSON-serialisable) result, rejects with its error. */
export async function runCommand<T>(
  page: Page,
  name: string,
  options: Record<string, unknown> = {},
): Promise<T> {
  const outcome = await page.evaluate(
    async ([n, o]) => {
      try {
        const cm = (window as unknown as { commandsManager: { runCommand(n: string, o: unknown): unknown } })
          .commandsManager;
        return { ok: true, value: await cm.runCommand(n, o) };
      } catch (e) {
        return { ok: false, error: `${(e as Error).name}: ${(e as Error).message}` };
      }
    },
    [name, options] as const,
  );
  if (!outcome.ok) throw new Error(`command ${name} failed: ${outcome.error}`);
  return outcome.value as T;
}

/** The InstanceNumber shown in the viewport overlay ("I:20 (1/20)"). */
export async function shownInstanceNumber(page: Page): Promise<number> {
  const text = await page.locator('[data-cy="viewport-overlay-bottom-right"]').first().innerText();
  const m = /I:\s*(\d+)/.exec(text);
  if (!m) throw new Error(`no instance number in the viewport overlay: "${text}"`);
  return Number(m[1]);
}

/**
 * Keeps a copy of the active viewport's on-screen pixels in the page under `name` (cornerstone draws each
 * viewport into a 2D canvas, so this is what the user sees, overlays included).
 */
export async function snapshotViewport(page: Page, name: string): Promise<{ width: number; height: number }> {
  return page.evaluate((key) => {
    const w = window as unknown as {
      services: { viewportGridService: { getActiveViewportId(): string } };
      cornerstone: {
        getRenderingEngines(): Array<{ getViewport(id: string): { canvas: HTMLCanvasElement } | undefined }>;
      };
      __nnsamSnapshots?: Record<string, ImageData>;
    };
    const id = w.services.viewportGridService.getActiveViewportId();
    const viewport = w.cornerstone
      .getRenderingEngines()
      .map((e) => e.getViewport(id))
      .find(Boolean);
    if (!viewport) throw new Error(`no cornerstone viewport ${id}`);
    const ctx = viewport.canvas.getContext('2d');
    if (!ctx) throw new Error('the viewport canvas has no 2D context');
    const image = ctx.getImageData(0, 0, viewport.canvas.width, viewport.canvas.height);
    (w.__nnsamSnapshots ??= {})[key] = image;
    return { width: image.width, height: image.height };
  }, name);
}

/**
 * Compares two snapshots: how many pixels changed by more than `threshold` in some channel, and the mean
 * colour change (after - before) over those pixels.
 */
export async function compareSnapshots(
  page: Page,
  before: string,
  after: string,
  threshold = 24,
): Promise<{ changed: number; total: number; meanDelta: [number, number, number] }> {
  return page.evaluate(
    ([a, b, t]) => {
      const shots = (window as unknown as { __nnsamSnapshots: Record<string, ImageData> }).__nnsamSnapshots;
      const x = shots[a]!;
      const y = shots[b]!;
      if (x.width !== y.width || x.height !== y.height) throw new Error('snapshots differ in size');
      let changed = 0;
      const sum = [0, 0, 0];
      for (let n = 0; n < x.data.length; n += 4) {
        const d = [y.data[n]! - x.data[n]!, y.data[n + 1]! - x.data[n + 1]!, y.data[n + 2]! - x.data[n + 2]!];
        if (d.some((v) => Math.abs(v) > t)) {
          changed++;
          d.forEach((v, c) => (sum[c]! += v));
        }
      }
      const mean = sum.map((v) => (changed ? v / changed : 0)) as [number, number, number];
      return { changed, total: x.width * x.height, meanDelta: mean };
    },
    [before, after, threshold] as const,
  );
}
