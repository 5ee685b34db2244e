/**
 * `nnsam.showSeg` against real data: a real CT series and the DICOM SEG dcmqi wrote for it (shared data,
 * read at test time, never copied). The SEG reaches Orthanc only after the viewer opened the study, as a
 * server-written SEG will, so the command has to re-query past OHIF's metadata cache.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { stowInstances } from '../../server/src/demo/stow.js';
import { sharedDataDir } from '../../server/src/util/paths.js';
import {
  canvasPixelsPerImagePixel,
  compareSnapshots,
  openStudy,
  PANEL,
  runCommand,
  snapshotViewport,
} from '../support/ohif.js';
import { saveScreenshot } from '../support/screenshots.js';
import { readBinarySeg, type BinarySeg } from '../support/seg.js';
import { startViewerStack, type ViewerStack } from '../support/stack.js';

let stack: ViewerStack;
let page: Page;
let seg: BinarySeg;
const segFile = () => sharedDataDir('dicom', 'dcmqi', 'liver.dcm');

beforeAll(async () => {
  const ctDir = sharedDataDir('dicom', 'dcmqi', 'ct-3slice');
  seg = readBinarySeg(segFile());
  stack = await startViewerStack({ upload: false });
  const files = readdirSync(ctDir)
    .filter((f) => f.endsWith('.dcm'))
    .map((f) => readFileSync(join(ctDir, f)));
  await stowInstances(stack.demo.dicomWebUpstream, files);
  page = stack.browser.page;
  await openStudy(page, stack.demo.viewerUrl, seg.studyInstanceUID);
});
afterAll(async () => {
  await stack?.stop();
});

interface ShownSeg {
  segmentationId: string;
  viewportId: string;
  segmentCount: number;
  segmentLabels: string[];
}

describe('nnsam.showSeg', () => {
  it('shows a SEG stored after the study was opened as an overlay, with per-segment visibility', async () => {
    await stowInstances(stack.demo.dicomWebUpstream, [readFileSync(segFile())]);

    const shown = await runCommand<ShownSeg>(page, 'nnsam.showSeg', {
      StudyInstanceUID: seg.studyInstanceUID,
      SeriesInstanceUID: seg.seriesInstanceUID,
    });
    expect(shown.segmentCount).toBe(1);
    expect(shown.segmentLabels).toEqual(seg.segmentLabels);

    // OHIF's labelmap for the slice on screen holds exactly the SEG frame's pixels for that slice
    const onScreen = await page.evaluate((segmentationId) => {
      const w = window as unknown as {
        services: {
          viewportGridService: { getActiveViewportId(): string };
          segmentationService: {
            getSegmentation(id: string): { representationData: { Labelmap: { imageIds: string[] } } };
          };
        };
        cornerstone: {
          getRenderingEngines(): Array<{
            getViewport(id: string): { getCurrentImageId(): string } | undefined;
          }>;
          cache: {
            getImage(id: string): {
              referencedImageId: string;
              voxelManager: { getScalarData(): ArrayLike<number> };
            };
          };
          metaData: { get(type: string, id: string): { SOPInstanceUID: string } | undefined };
        };
      };
      const id = w.services.viewportGridService.getActiveViewportId();
      const current = w.cornerstone
        .getRenderingEngines()
        .map((e) => e.getViewport(id))
        .find(Boolean)!
        .getCurrentImageId();
      const labelmap =
        w.services.segmentationService.getSegmentation(segmentationId).representationData.Labelmap;
      const image = labelmap.imageIds
        .map((i) => w.cornerstone.cache.getImage(i))
        .find((i) => i.referencedImageId === current)!;
      const data = image.voxelManager.getScalarData();
      let foreground = 0;
      for (let n = 0; n < data.length; n++) if (data[n] === 1) foreground++;
      return { sopInstanceUID: w.cornerstone.metaData.get('instance', current)!.SOPInstanceUID, foreground };
    }, shown.segmentationId);
    const frame = seg.frames.find((f) => f.sourceSopInstanceUID === onScreen.sopInstanceUID);
    expect(frame, 'the slice on screen is one the SEG covers').toBeDefined();
    expect(onScreen.foreground).toBe(frame!.foreground);

    // our panel is still the one on screen (the stock mode switches panels when a SEG appears)
    await page.waitForSelector(PANEL, { timeout: 5000 });
    await saveScreenshot(page, 'liver-seg.png');

    // The overlay is drawn: hiding the segment (per-segment visibility) and showing it again changes a
    // liver-sized patch of the viewport, towards the segment colour. (Before/after the load is no baseline:
    // adding a labelmap may switch the viewport from stack to volume rendering.)
    await snapshotViewport(page, 'visible');
    await setSegmentVisible(page, shown, false);
    await snapshotViewport(page, 'hidden');
    await setSegmentVisible(page, shown, true);
    await snapshotViewport(page, 'visible-again');
    const overlay = await compareSnapshots(page, 'hidden', 'visible');
    const expected = onScreen.foreground * (await canvasPixelsPerImagePixel(page)) ** 2;
    expect(overlay.changed).toBeGreaterThan(0.9 * expected);
    expect(overlay.changed).toBeLessThan(1.1 * expected);
    // dcmqi's liver colour is a salmon red: red rises more than blue where the overlay is
    expect(overlay.meanDelta[0]).toBeGreaterThan(overlay.meanDelta[2]);
    const again = await compareSnapshots(page, 'visible', 'visible-again');
    expect(again.changed).toBeLessThan(0.02 * overlay.changed);
  });

  it('names the missing SEG series when it is not on the server', async () => {
    await expect(
      runCommand(page, 'nnsam.showSeg', {
        StudyInstanceUID: seg.studyInstanceUID,
        SeriesInstanceUID: '2.25.1234',
        timeoutMs: 1500,
      }),
    ).rejects.toThrow(/No SEG series 2\.25\.1234 in study/);
  });
});

async function setSegmentVisible(page: Page, shown: ShownSeg, visible: boolean): Promise<void> {
  await page.evaluate(
    ({ viewportId, segmentationId, on }) => {
      const w = window as unknown as {
        services: {
          segmentationService: { setSegmentVisibility(v: string, s: string, i: number, on: boolean): void };
        };
        cornerstone: { getRenderingEngines(): Array<{ render(): void }> };
      };
      w.services.segmentationService.setSegmentVisibility(viewportId, segmentationId, 1, on);
      w.cornerstone.getRenderingEngines().forEach((e) => e.render());
    },
    { viewportId: shown.viewportId, segmentationId: shown.segmentationId, on: visible },
  );
  // two animation frames: cornerstone renders on the next frame after a change
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}
