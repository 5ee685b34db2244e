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

/**
 * Drags the mouse through the points (button held), as a user paints a brush stroke; one point is a click.
 * Then it pauses as a user would: cornerstone holds a click for 400 ms to tell it from a double click, and
 * the brush finishes a stroke after the mouse is up; strokes fired back to back land partly elsewhere.
 */
export async function drag(page: Page, points: Array<{ x: number; y: number }>): Promise<void> {
  await page.mouse.move(points[0]!.x, points[0]!.y);
  await page.mouse.down();
  for (const p of points.slice(1)) await page.mouse.move(p.x, p.y);
  await page.mouse.up();
  await page.waitForTimeout(450);
}

/** Waits two animation frames: cornerstone draws on the next frame after a change. */
export async function nextFrames(page: Page): Promise<void> {
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

interface PageCornerstone {
  services: { viewportGridService: { getActiveViewportId(): string } };
  cornerstone: {
    getRenderingEngines(): Array<{
      getViewport(id: string):
        | {
            getImageIds(): string[];
            getCurrentImageId(): string;
            setImageIdIndex(index: number): Promise<string>;
            worldToCanvas(world: number[]): [number, number];
            canvas: HTMLCanvasElement;
          }
        | undefined;
    }>;
    metaData: { get(type: string, id: string): { SOPInstanceUID: string } | undefined };
    utilities: { imageToWorldCoords(imageId: string, ij: [number, number]): number[] };
  };
}

/** Shows the image with this SOP Instance UID in the active viewport and waits until it is drawn. */
export async function showInstance(page: Page, sopInstanceUID: string): Promise<void> {
  await page.evaluate(async (uid) => {
    const w = window as unknown as PageCornerstone;
    const id = w.services.viewportGridService.getActiveViewportId();
    const vp = w.cornerstone
      .getRenderingEngines()
      .map((e) => e.getViewport(id))
      .find(Boolean)!;
    const index = vp
      .getImageIds()
      .findIndex((imageId) => w.cornerstone.metaData.get('instance', imageId)?.SOPInstanceUID === uid);
    if (index < 0) throw new Error(`the active viewport has no image ${uid}`);
    await vp.setImageIdIndex(index);
  }, sopInstanceUID);
  await waitForViewportsRendered(page);
  await nextFrames(page);
}

/** Page coordinates of image pixel centres (column i, row j) of the image in the active viewport. */
export async function imageToPage(
  page: Page,
  pixels: Array<[number, number]>,
): Promise<Array<{ x: number; y: number }>> {
  return page.evaluate((ijs) => {
    const w = window as unknown as PageCornerstone;
    const id = w.services.viewportGridService.getActiveViewportId();
    const vp = w.cornerstone
      .getRenderingEngines()
      .map((e) => e.getViewport(id))
      .find(Boolean)!;
    const imageId = vp.getCurrentImageId();
    const box = vp.canvas.getBoundingClientRect();
    return ijs.map(([i, j]) => {
      const [x, y] = vp.worldToCanvas(
        w.cornerstone.utilities.imageToWorldCoords(imageId, [i + 0.5, j + 0.5]),
      );
      return { x: box.left + x, y: box.top + y };
    });
  }, pixels);
}

/**
 * Sets the brush radius (mm) in the tool's own box of OHIF's labelmap panel, and waits until the slider
 * shows it and cornerstone's brush tools use it.
 */
export async function setBrushRadius(page: Page, mm: number): Promise<void> {
  const box = page.locator('[data-cy="brush-radius"] input[type="number"]');
  const slider = `[data-cy="brush-radius"] [role="slider"][aria-valuenow="${mm}"]`;
  // OHIF re-renders the panel when a segment is picked; a value typed into the box while it does can be
  // dropped, so type it again (up to 3 times) until the slider shows it
  for (let attempt = 1; ; attempt++) {
    await box.fill(String(mm));
    await box.press('Enter');
    try {
      await page.waitForSelector(slider, { timeout: 10_000 });
      break;
    } catch (e) {
      if (attempt === 3) throw e;
    }
  }
  await page.waitForFunction(
    (size) => {
      const w = window as unknown as {
        services: { toolGroupService: { getToolGroupIds(): string[] } };
        cornerstoneTools: {
          utilities: { segmentation: { getBrushSizeForToolGroup(id: string): number | undefined } };
        };
      };
      const sizes = w.services.toolGroupService
        .getToolGroupIds()
        .map((id) => w.cornerstoneTools.utilities.segmentation.getBrushSizeForToolGroup(id))
        .filter((s) => s !== undefined && s !== null);
      return sizes.length > 0 && sizes.every((s) => s === size);
    },
    mm,
    { timeout: 10_000 },
  );
}

/** How many canvas pixels one image pixel covers along a row, from cornerstone's own geometry. */
export async function canvasPixelsPerImagePixel(page: Page): Promise<number> {
  return page.evaluate(() => {
    const w = window as unknown as {
      services: { viewportGridService: { getActiveViewportId(): string } };
      cornerstone: {
        getRenderingEngines(): Array<{
          getViewport(id: string):
            | {
                canvasToWorld(p: [number, number]): number[];
                getCurrentImageId(): string;
                canvas: HTMLCanvasElement;
              }
            | undefined;
        }>;
        utilities: { worldToImageCoords(imageId: string, world: number[]): [number, number] };
      };
    };
    const id = w.services.viewportGridService.getActiveViewportId();
    const vp = w.cornerstone
      .getRenderingEngines()
      .map((e) => e.getViewport(id))
      .find(Boolean)!;
    const imageId = vp.getCurrentImageId();
    const a = w.cornerstone.utilities.worldToImageCoords(imageId, vp.canvasToWorld([100, 100]));
    const b = w.cornerstone.utilities.worldToImageCoords(imageId, vp.canvasToWorld([300, 100]));
    const cssPerImage = 200 / Math.hypot(b[0] - a[0], b[1] - a[1]);
    return cssPerImage * (vp.canvas.width / vp.canvas.clientWidth);
  });
}

/** Voxels of the active labelmap for one source image, straight from cornerstone's cache. */
export async function labelmapVoxels(page: Page, sopInstanceUID: string): Promise<number[]> {
  return page.evaluate((uid) => {
    const w = window as unknown as {
      services: {
        viewportGridService: { getActiveViewportId(): string };
        segmentationService: {
          getActiveSegmentation(id: string): { representationData: { Labelmap: { imageIds: string[] } } };
        };
      };
      cornerstone: {
        cache: {
          getImage(id: string): {
            referencedImageId: string;
            voxelManager: { getScalarData(): ArrayLike<number> };
          };
        };
        metaData: { get(type: string, id: string): { SOPInstanceUID: string } | undefined };
      };
    };
    const seg = w.services.segmentationService.getActiveSegmentation(
      w.services.viewportGridService.getActiveViewportId(),
    );
    for (const id of seg.representationData.Labelmap.imageIds) {
      const image = w.cornerstone.cache.getImage(id);
      if (w.cornerstone.metaData.get('instance', image.referencedImageId)?.SOPInstanceUID === uid) {
        return Array.from(image.voxelManager.getScalarData());
      }
    }
    throw new Error(`no labelmap image for ${uid}`);
  }, sopInstanceUID);
}

/**
 * Clicks a segment's name in OHIF's segment list, as a user picks the class to paint, until it is the
 * active segment of the active viewport (what the brush paints with). OHIF's list sometimes drops a click
 * while it re-renders after a stroke; a user clicks again, so does this (three tries).
 */
export async function selectSegment(page: Page, label: string, segmentIndex: number): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await page.locator('[data-cy="data-row-title"]', { hasText: label }).first().click();
    const active = await page
      .waitForFunction(
        (index) => {
          const s = (
            window as unknown as {
              services: {
                viewportGridService: { getActiveViewportId(): string };
                segmentationService: {
                  getActiveSegment(viewportId: string): { segmentIndex: number } | undefined;
                };
              };
            }
          ).services;
          const viewportId = s.viewportGridService.getActiveViewportId();
          return s.segmentationService.getActiveSegment(viewportId)?.segmentIndex === index;
        },
        segmentIndex,
        { timeout: 3_000 },
      )
      .then(() => true)
      .catch(() => false);
    if (active) return;
    if (attempt === 3) throw new Error(`segment "${label}" did not become active after ${attempt} clicks`);
  }
}

/** Waits until exactly `count` elements match the selector. */
export async function waitForCount(page: Page, selector: string, count: number): Promise<void> {
  await page.waitForFunction(
    ([sel, n]) => document.querySelectorAll(sel).length === n,
    [selector, count] as const,
    { timeout: 30_000 },
  );
}

/**
 * The `attribute` of every element matching the selector, once exactly `count` match, read in the same check
 * that counts them: OHIF can take the panel off screen for a moment (switching to its segmentation tab when a
 * SEG loads, then back), so a count followed by a second read can see an empty list.
 */
export async function attributesOnceCounted(
  page: Page,
  selector: string,
  attribute: string,
  count: number,
): Promise<string[]> {
  const handle = await page.waitForFunction(
    ([sel, attr, n]) => {
      const found = [...document.querySelectorAll(sel)];
      return found.length === n ? found.map((el) => el.getAttribute(attr) ?? '') : null;
    },
    [selector, attribute, count] as const,
    { timeout: 30_000 },
  );
  return (await handle.jsonValue()) as string[];
}
