/**
 * Correct and retrain (issue 13), in a real browser against real Orthanc and the real server: segment with
 * a model, open "Label next", go to the slice the model is least sure of, correct it with OHIF's brush on
 * the nnSAM result itself, add it (only that slice joins the training set, not the rest of the SEG), train
 * again with one click (warm start), segment again: the new SEG differs from the first on that slice.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Example, Job, Model, SegmentResult } from '../../server/src/api/index.js';
import { DicomwebClient, loadSeriesFromDicomweb, readSeg } from '../../server/src/dicom/index.js';
import { callApi } from '../support/api.js';
import {
  attributesOnceCounted,
  drag,
  imageToPage,
  labelmapVoxels,
  openStudy,
  PANEL,
  selectSegment,
  setBrushRadius,
  shownInstanceNumber,
  waitForCount,
} from '../support/ohif.js';
import { strokesInside } from '../support/paint.js';
import { startViewerStack, type ViewerStack } from '../support/stack.js';
import { PHANTOM_CLASSES, projectWithExample, trainTiny } from '../support/workflow.js';

let stack: ViewerStack;
let page: Page;
let projectId: string;
let firstModelId: string;

/** The slices labelled before the first training (the phantom's ground truth), and the budgets. */
const LABELLED = [3, 10, 16];
const BRUSH_MM: Record<number, number> = { 1: 4.5, 2: 1.5, 3: 6 };
const MAX_ITERATIONS = 6;

beforeAll(async () => {
  stack = await startViewerStack({
    appConfigOverrides: {
      nnsam: {
        apiBaseUrl: '/api',
        // the same encoder as the first model, so the retrain can start from it
        training: { minutes: 1, maxIterations: MAX_ITERATIONS, encoder: 'none' },
      },
    },
    api: { env: { NNSAM_THREADS: '2' } },
  });
  page = stack.browser.page;
  // the project and a first model come from the API: this test is about what happens after a result
  const api = {
    call: (method: string, path: string, body?: unknown) => callApi(stack.demo.viewerUrl, method, path, body),
  };
  projectId = await projectWithExample(api, stack.demo.phantom!, LABELLED, 'Phantom heart');
  firstModelId = await trainTiny(api, projectId, MAX_ITERATIONS);
  await openStudy(page, stack.demo.viewerUrl, stack.demo.phantom!.studyInstanceUID);
}, 300_000);
afterAll(async () => {
  await stack?.stop();
});

describe('correct and retrain', () => {
  it(
    'Label next > Go, a brush correction on the result, Add (that slice only), Train again, Segment: the SEG changes there',
    { timeout: 420_000 },
    async () => {
      const phantom = stack.demo.phantom!;
      const api = async <T>(path: string): Promise<T> =>
        (await (await fetch(`${stack.demo.viewerUrl}/api${path}`)).json()) as T;
      await page.waitForSelector(`[data-cy="nnsam-model"][data-model-id="${firstModelId}"]`);

      // 1. segment the series from the panel; the result is shown with "Label next"
      await page.click('[data-cy="nnsam-segment-series"]');
      await page.waitForSelector('[data-cy="nnsam-segment"][data-state="succeeded"]', { timeout: 180_000 });
      const first = await segmentResult(api, 1);
      // the job's own state reaches the panel before the SEG is on screen; the list comes with the overlay
      const suggested = (
        await attributesOnceCounted(
          page,
          '[data-cy="nnsam-label-next-slice"]',
          'data-slice',
          first.uncertainty!.labelNext.length,
        )
      ).map(Number);
      expect(suggested).toEqual(first.uncertainty!.labelNext.map((s) => s.index));
      const choice = suggested.findIndex((k) => !LABELLED.includes(k));
      expect(choice, `suggestions ${suggested} are all labelled already`).toBeGreaterThanOrEqual(0);
      const k = suggested[choice]!;
      const uid = phantom.instances[k]!.sopInstanceUID;

      // 2. the class to correct on that slice: the one the model missed most (truth pixels it labels otherwise)
      const [nx, ny] = phantom.labels.geometry.dims;
      const truth = phantom.labels.data.subarray(k * nx * ny, (k + 1) * nx * ny);
      const before = await labelmapVoxels(page, uid); // the active segmentation is the result
      const missed = [1, 2, 3]
        .map((value) => ({
          value,
          missed: before.filter((v, n) => truth[n] === value && v !== value).length,
          strokes: strokesInside(phantom.labels, k, value, BRUSH_MM[value]!, 12),
        }))
        .filter((c) => c.strokes.length > 0)
        .sort((a, b) => b.missed - a.missed);
      const target = missed[0]!;
      expect(target.missed, `the model misses nothing on slice ${k}`).toBeGreaterThan(0);

      // 3. OHIF's brush on the result: pick the class in OHIF's segment list, set the brush, then "Go" in
      // the nnSAM panel (picking a segment with paint scrolls OHIF to it, so the slice comes last), drag
      await page.click('[data-cy="panelSegmentationWithToolsLabelMap-btn"]');
      await page.click('[data-cy="Brush-btn"]');
      await selectSegment(page, PHANTOM_CLASSES[target.value - 1]!.name, target.value);
      await setBrushRadius(page, BRUSH_MM[target.value]!);
      await page.click('[data-cy="nnsam-btn"]');
      await page.locator('[data-cy="nnsam-label-next-go"]').nth(choice).click();
      await page.waitForFunction(
        (n) =>
          /I:\s*(\d+)/.exec(
            document.querySelector('[data-cy="viewport-overlay-bottom-right"]')?.textContent ?? '',
          )?.[1] === String(n),
        k + 1,
      );
      expect(await shownInstanceNumber(page)).toBe(k + 1);
      // OHIF can set the result's first segment active again while it finishes loading it (seen in 2 of 4
      // runs: the brush then painted class 1): pick the class in the nnSAM panel too, as a user would after
      // seeing the wrong colour, and paint once it is the active segment
      await page
        .locator('[data-cy="nnsam-classes"] button', { hasText: PHANTOM_CLASSES[target.value - 1]!.name })
        .click();
      await page.waitForFunction(
        (value) => {
          const s = (
            window as unknown as {
              services: {
                viewportGridService: { getActiveViewportId(): string };
                segmentationService: { getActiveSegment(id: string): { segmentIndex: number } | undefined };
              };
            }
          ).services;
          return (
            s.segmentationService.getActiveSegment(s.viewportGridService.getActiveViewportId())
              ?.segmentIndex === value
          );
        },
        target.value,
        { timeout: 10_000 },
      );
      for (const stroke of target.strokes) await drag(page, await imageToPage(page, stroke));

      // the labels on that slice changed where the brush went, and the panel counts exactly that slice
      // the brush writes the labelmap after a stroke ends, later on a busy machine: read it once it changed
      let after = await labelmapVoxels(page, uid);
      for (const until = Date.now() + 10_000; after.every((v, n) => v === before[n]) && Date.now() < until;) {
        await page.waitForTimeout(200);
        after = await labelmapVoxels(page, uid);
      }
      const fixed = after.filter((v, n) => v === target.value && before[n] !== target.value).length;
      expect(fixed).toBeGreaterThan(0);
      const corrected = page.locator('[data-cy="nnsam-corrected"]');
      await corrected.waitFor();
      await expect(corrected.getAttribute('data-sop-instance-uids')).resolves.toBe(uid);
      await expect(corrected.innerText()).resolves.toMatch(
        new RegExp(`^Corrected: 1 slice \\(I:${k + 1}\\)`),
      );

      // 4. "Add labelled slices": the training set gains exactly that slice, not the rest of the SEG
      await page.click('[data-cy="nnsam-add-labels"]');
      await waitForCount(page, '[data-cy="nnsam-example"]', 2);
      const examples = await api<Example[]>(`/projects/${projectId}/examples`);
      expect(examples.map((e) => [e.sourceKind, e.labelledSlices])).toEqual([
        ['labelmap', LABELLED],
        ['labelmap', [k]],
      ]);
      expect(examples[1]!.labelledSOPInstanceUIDs).toEqual([uid]);
      expect(examples[1]!.classesPresent).toContain(target.value);
      await expect(page.locator('[data-cy="nnsam-example"]').nth(1).innerText()).resolves.toMatch(
        new RegExp(`1 slice \\(${k + 1}\\)`),
      );
      // what was added no longer counts as a pending correction
      await corrected.waitFor({ state: 'detached' });

      // 5. Train again: one click, from the previous model
      await page.click('[data-cy="nnsam-train-button"]');
      const model = page.locator('[data-cy="nnsam-model"]:not([data-model-id="' + firstModelId + '"])');
      await model.waitFor({ timeout: 240_000 });
      const project = await api<{ latestModelId: string }>(`/projects/${projectId}`);
      const retrained = await api<Model>(`/models/${project.latestModelId}`);
      expect(retrained.metrics.warmStartFrom).toBe(firstModelId);
      expect(retrained.metrics.trainSlices).toBe(LABELLED.length + 1);

      // 6. Segment again: the new SEG is not the first one on the corrected slice
      await page.click('[data-cy="nnsam-segment-series"]');
      const second = await segmentResult(api, 2);
      await page.waitForSelector('[data-cy="nnsam-segment"][data-state="succeeded"]', { timeout: 60_000 });
      expect(second.segSeriesInstanceUID).not.toBe(first.segSeriesInstanceUID);
      const [was, now] = await Promise.all([
        segSlice(first.segSeriesInstanceUID, k),
        segSlice(second.segSeriesInstanceUID, k),
      ]);
      const differing = now.filter((v, n) => v !== was[n]).length;
      console.error(`[corrections] slice ${k}: ${differing} of ${nx * ny} pixels differ between the SEGs`);
      expect(differing).toBeGreaterThan(0);

      const pageErrors = stack.browser.errors.filter((e) => !/ERR_CONNECTION_REFUSED|ERR_FAILED/.test(e));
      expect(pageErrors).toEqual([]);
      await page.waitForSelector(PANEL);
    },
  );
});

/** The n-th segmentation job's result, once it succeeded (the viewer started it). */
async function segmentResult(api: <T>(path: string) => Promise<T>, n: number): Promise<SegmentResult> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const jobs = await api<Job[]>('/jobs?kind=segment');
    const job =
      jobs.length >= n ? [...jobs].sort((a, b) => a.createdAt.localeCompare(b.createdAt))[n - 1] : undefined;
    if (job?.state === 'succeeded') return job.result as SegmentResult;
    if (job && ['failed', 'cancelled', 'interrupted'].includes(job.state))
      throw new Error(`segmentation ${n} ended ${job.state}: ${JSON.stringify(job.error)}`);
    if (Date.now() > deadline) throw new Error(`segmentation ${n} did not finish in 3 minutes`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Slice k of a SEG series stored in Orthanc, read onto the phantom series' grid in Node. */
async function segSlice(segSeriesInstanceUID: string, k: number): Promise<Uint8Array> {
  const phantom = stack.demo.phantom!;
  const client = new DicomwebClient({ url: stack.demo.dicomWebUpstream });
  const series = await loadSeriesFromDicomweb(client, phantom.studyInstanceUID, phantom.seriesInstanceUID);
  const [bytes] = await client.retrieveSeries(phantom.studyInstanceUID, segSeriesInstanceUID);
  const { labels } = await readSeg(bytes!, series);
  const [nx, ny] = labels.geometry.dims;
  return Uint8Array.from(labels.data.subarray(k * nx * ny, (k + 1) * nx * ny));
}
