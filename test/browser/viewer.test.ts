/**
 * The viewer in a real browser against real Orthanc: the stock OHIF 3.13.2 build with the nnSAM extension
 * and mode loaded at run time, the phantom study, OHIF's own brush tool driven by mouse events.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  decodeLabelSlice,
  type Example,
  type Info,
  type Job,
  type LabelmapPayload,
  type Model,
  type SegmentResult,
} from '../../server/src/api/index.js';
import { DicomwebClient, loadSeriesFromDicomweb, writeSeg } from '../../server/src/dicom/index.js';
import {
  canvasPixelsPerImagePixel,
  compareSnapshots,
  drag,
  imageToPage,
  labelmapVoxels,
  nextFrames,
  openStudy,
  PANEL,
  runCommand,
  selectSegment,
  setBrushRadius,
  showInstance,
  shownInstanceNumber,
  snapshotViewport,
  waitForCount,
} from '../support/ohif.js';
import { strokesInside } from '../support/paint.js';
import { saveScreenshot } from '../support/screenshots.js';
import { startViewerStack, type ViewerStack } from '../support/stack.js';

let stack: ViewerStack;
let page: Page;

/**
 * The full-flow test: the phantom's classes (ACDC's label values 1, 2, 3), the slices it paints (brush
 * radius per class) and those a SEG labels; 8 labelled slices in all, every one of which trains (nothing is
 * held out below 40 labelled slices), so the model line reports no validation Dice. The budget (1.5
 * minutes, at most 40 iterations) keeps training short on a busy 2-core machine; whichever ends first
 * stops it, and the test reads back what the server recorded.
 */
const CLASSES = ['Right ventricle', 'Myocardium', 'Left ventricle'];
const PAINTED = [2, 6, 10];
const BRUSH_MM: Record<number, number> = { 1: 4.5, 2: 1.5, 3: 9 };
const FROM_SEG = [0, 4, 8, 12, 14];
const MAX_ITERATIONS = 40;
const TRAIN_MINUTES = 1.5;

beforeAll(async () => {
  stack = await startViewerStack({
    // a tiny, reproducible training budget (the same key a deployment can set), 2 threads on the CI machine
    appConfigOverrides: {
      nnsam: { apiBaseUrl: '/api', training: { minutes: TRAIN_MINUTES, maxIterations: MAX_ITERATIONS } },
    },
    api: { env: { NNSAM_THREADS: '2' } },
  });
  page = stack.browser.page;
  await openStudy(page, stack.demo.viewerUrl, stack.demo.phantom!.studyInstanceUID);
});
afterAll(async () => {
  await stack?.stop();
});

describe('nnSAM mode in the stock OHIF viewer', () => {
  it('opens the phantom study with the nnSAM panel first on the right, and reports the server state', async () => {
    expect(new URL(page.url()).pathname).toBe('/nnsam');
    await page
      .locator('[data-cy="viewport-overlay-top-left"]')
      .getByText('Synthetic short-axis cine (phantom)')
      .waitFor();
    await expect(page.locator(`${PANEL} [data-cy="nnsam-server-status"]`).isVisible()).resolves.toBe(true);

    // The real API answers (local mode): version, device and encoder weights as /api/info reports them.
    const info = (await (await fetch(`${stack.demo.viewerUrl}/api/info`)).json()) as Info;
    const status = page.locator('[data-cy="nnsam-server-status"]');
    await page.waitForSelector('[data-cy="nnsam-server-status"][data-state="ok"] [data-cy="nnsam-device"]');
    const device = info.devices.cuda
      ? `GPU ${info.devices.gpus.join(', ')}`
      : `CPU, ${info.devices.cpuThreads} thread${info.devices.cpuThreads === 1 ? '' : 's'}`;
    await expect(status.innerText()).resolves.toContain(`Connected · version ${info.version} · ${device}`);
    const encoder = page.locator('[data-cy="nnsam-encoder"]');
    await expect(encoder.getAttribute('data-available')).resolves.toBe(String(info.mobileSam.configured));
    if (!info.mobileSam.configured) {
      await expect(encoder.innerText()).resolves.toMatch(
        /No MobileSAM weights[\s\S]*NNSAM_MOBILESAM_CHECKPOINT/,
      );
    }

    // Without a project the one-click toolbar button is there but off, saying why.
    const oneClick = page.locator('[data-cy="nnsamSegmentLatest"] button');
    await expect(oneClick.isDisabled()).resolves.toBe(true);

    // The network fails: the panel says "Server unreachable" with what to check, and OHIF shows it too.
    await page.route('**/api/health', (route) => route.abort('connectionrefused'));
    await page.click('[data-cy="nnsam-server-retry"]');
    await page.waitForSelector('[data-cy="nnsam-server-status"][data-state="error"]');
    await expect(status.innerText()).resolves.toMatch(
      /Server unreachable[\s\S]*did not answer[\s\S]*Check that it is running/,
    );
    await page.getByText('nnSAM server unreachable').first().waitFor();
    await page.unroute('**/api/health');
    await page.click('[data-cy="nnsam-server-retry"]');
    await page.waitForSelector('[data-cy="nnsam-server-status"][data-state="ok"]');

    // The panel survives OHIF switching tabs away and back (our React root inside OHIF's React).
    await page.click('[data-cy="panelSegmentationWithToolsLabelMap-btn"]');
    await page.waitForSelector(PANEL, { state: 'detached' });
    await page.click('[data-cy="nnsam-btn"]');
    await page.waitForSelector('[data-cy="nnsam-server-status"][data-state="ok"]');

    const pageErrors = stack.browser.errors.filter((e) => !/ERR_CONNECTION_REFUSED|ERR_FAILED/.test(e));
    expect(pageErrors).toEqual([]);
  });

  it('reads labels painted with OHIF brush on three slices as exactly those slices', async () => {
    await page.click('[data-cy="panelSegmentationWithToolsLabelMap-btn"]');
    await page.click('[data-cy="addSegmentation"]');
    await page.click('[data-cy="Brush-btn"]');
    // a 12 mm brush, set in the tool's own radius box
    const brushRadiusMm = 12;
    const radiusBox = page.locator('[data-cy="brush-radius"] input[type="number"]');
    await radiusBox.fill(String(brushRadiusMm));
    await radiusBox.press('Enter');
    await page.waitForSelector(`[data-cy="brush-radius"] [role="slider"][aria-valuenow="${brushRadiusMm}"]`);
    const canvas = page.locator('[data-cy="viewport-pane"] canvas').first();
    const box = (await canvas.boundingBox())!;
    const at = (fx: number, fy: number) => ({ x: box.x + fx * box.width, y: box.y + fy * box.height });

    // one stroke per slice, over the heart; slices chosen by scrolling like a user does
    const painted: Array<{ instanceNumber: number; stroke: Array<{ x: number; y: number }> }> = [];
    for (const scroll of [0, 4, 5]) {
      for (let n = 0; n < scroll; n++) {
        await page.mouse.move(at(0.5, 0.5).x, at(0.5, 0.5).y);
        await page.mouse.wheel(0, 100);
        await page.waitForTimeout(150);
      }
      const stroke = [0, 1, 2].map((n) => at(0.42 + n * 0.08, 0.5 + n * 0.02));
      await drag(page, stroke);
      painted.push({ instanceNumber: await shownInstanceNumber(page), stroke });
    }
    const instanceNumbers = painted.map((p) => p.instanceNumber);
    expect(new Set(instanceNumbers).size).toBe(3);

    const payload = await runCommand<LabelmapPayload>(page, 'nnsam.collectLabelmap');
    const phantom = stack.demo.phantom!;
    const expectedUids = instanceNumbers.map((n) => phantom.instances[n - 1]!.sopInstanceUID);
    expect(payload.studyInstanceUID).toBe(phantom.studyInstanceUID);
    expect(payload.seriesInstanceUID).toBe(phantom.seriesInstanceUID);
    expect(payload.slices.map((s) => s.sopInstanceUID).sort()).toEqual([...expectedUids].sort());
    expect([payload.rows, payload.columns]).toEqual([192, 192]);
    expect(payload.segments).toEqual([{ labelValue: 1, label: 'Segment 1' }]);

    for (const { instanceNumber, stroke } of painted) {
      const uid = phantom.instances[instanceNumber - 1]!.sopInstanceUID;
      const slice = payload.slices.find((s) => s.sopInstanceUID === uid)!;
      const labels = decodeLabelSlice(slice.labels, 192 * 192);
      // the payload holds exactly the voxels OHIF's labelmap holds for that image
      const voxels = await labelmapVoxels(page, uid);
      expect(labels).toEqual(Uint8Array.from(voxels));
      // every point the brush passed over is labelled; the far corner is not
      const pixels = [];
      for (const point of stroke)
        pixels.push(await canvasToImagePixel(page, point.x - box.x, point.y - box.y));
      for (const [i, j] of pixels) expect(labels[j * 192 + i], `pixel (${i}, ${j}) under the stroke`).toBe(1);
      expect(labels[2 * 192 + 2]).toBe(0);
      // the labelled area is the brush's swept area: a disc of the brush radius moved along the stroke
      const radius = brushRadiusMm / 1.5;
      let length = 0;
      for (let n = 1; n < pixels.length; n++) {
        length += Math.hypot(pixels[n]![0] - pixels[n - 1]![0], pixels[n]![1] - pixels[n - 1]![1]);
      }
      const swept = Math.PI * radius ** 2 + 2 * radius * length;
      const count = labels.reduce((s, v) => s + v, 0);
      expect(count).toBeGreaterThan(0.7 * swept);
      expect(count).toBeLessThan(1.3 * swept);
    }

    // the panel's Detect button shows the same three slices
    await page.click('[data-cy="nnsam-btn"]');
    await page.click('[data-cy="nnsam-detect-labels"]');
    await expect(page.locator('[data-cy="nnsam-labelled-summary"]').innerText()).resolves.toMatch(
      /^3 labelled slices · 192×192 · Segment 1$/,
    );
  });

  it('says what to do when there is nothing painted on the series', async () => {
    await page.evaluate(() => {
      const s = (
        window as unknown as { services: { segmentationService: { removeAllSegmentations(): void } } }
      ).services.segmentationService;
      s.removeAllSegmentations();
    });
    await expect(runCommand(page, 'nnsam.collectLabelmap')).rejects.toThrow(
      /The active series has no labelmap segmentation/,
    );
    // and OHIF shows it as a notification with the hint
    const toast = page.getByText('nnSAM: cannot read the labels');
    await toast.waitFor();
    await expect(
      page
        .getByText(/add a segmentation and paint a few slices/)
        .first()
        .isVisible(),
    ).resolves.toBe(true);
  });

  it(
    'project from the panel, labels painted with the brush and a SEG added, Train, one-click Segment: the SEG is shown and stored',
    { timeout: 300_000 },
    async () => {
      const phantom = stack.demo.phantom!;
      const api = async <T>(path: string): Promise<T> =>
        (await (await fetch(`${stack.demo.viewerUrl}/api${path}`)).json()) as T;
      const mark = timer();

      // 2. a project with the phantom's three classes, created in the panel
      await page.click('[data-cy="nnsam-btn"]');
      if (!(await page.locator('[data-cy="nnsam-project-form"]').isVisible())) {
        await page.click('[data-cy="nnsam-new-project"]');
      }
      await page.fill('[data-cy="nnsam-project-name"]', 'Phantom heart');
      await page.fill('[data-cy="nnsam-project-classes"]', CLASSES.join(', '));
      await page.click('[data-cy="nnsam-create-project"]');
      await page.waitForSelector('[data-cy="nnsam-start-labelling"]');
      await expect(page.locator('[data-cy="nnsam-classes"] li').allInnerTexts()).resolves.toEqual(
        CLASSES.map((name, n) => `${name}\n${n + 1}`),
      );
      const projectId = (await api<Array<{ id: string }>>('/projects'))[0]!.id;

      // "Start labelling": a labelmap whose segments are the classes, and OHIF's brush tools on screen
      await page.click('[data-cy="nnsam-start-labelling"]');
      await page.waitForSelector('[data-cy="Brush-btn"]');
      await expect(page.locator('[data-cy="data-row-title"]').allInnerTexts()).resolves.toEqual(CLASSES);
      await page.click('[data-cy="Brush-btn"]');
      mark('project and labelmap');

      // paint each class inside its own region on a few slices, with OHIF's brush (mouse drags): pick the
      // class in OHIF's segment list, set the brush size in the tool's box, go to the slice, drag. (Picking a
      // segment that has paint makes OHIF jump to it, so the slice comes after the pick.)
      const painted: Array<{ k: number; value: number }> = [];
      for (const k of PAINTED) {
        for (const value of [3, 2, 1]) {
          const strokes = strokesInside(phantom.labels, k, value, BRUSH_MM[value]!, 12);
          if (!strokes.length) continue; // the class is too thin there for this brush
          await selectSegment(page, CLASSES[value - 1]!, value);
          await setBrushRadius(page, BRUSH_MM[value]!);
          await showInstance(page, phantom.instances[k]!.sopInstanceUID);
          for (const stroke of strokes) await drag(page, await imageToPage(page, stroke));
          painted.push({ k, value });
        }
      }
      expect(new Set(painted.map((p) => p.value))).toEqual(new Set([1, 2, 3]));
      // the strokes landed where they were aimed: each labels its class and (almost) nothing else
      const [nx, ny] = phantom.labels.geometry.dims;
      for (const k of PAINTED) {
        const voxels = await labelmapVoxels(page, phantom.instances[k]!.sopInstanceUID);
        const truth = phantom.labels.data.subarray(k * nx * ny, (k + 1) * nx * ny);
        for (const value of [1, 2, 3]) {
          let inside = 0;
          let outside = 0;
          voxels.forEach((v, n) => v === value && (truth[n] === value ? inside++ : outside++));
          if (painted.some((p) => p.k === k && p.value === value)) expect(inside).toBeGreaterThan(0);
          expect(outside, `class ${value} on slice ${k} painted outside its region`).toBeLessThanOrEqual(
            0.05 * inside,
          );
        }
      }
      mark('painting');

      // 3. "Add labelled slices" from the nnSAM panel: the training set lists the series, slices, classes
      await page.click('[data-cy="nnsam-btn"]');
      await page.click('[data-cy="nnsam-add-labels"]');
      const example = page.locator('[data-cy="nnsam-example"]');
      await example.waitFor();
      await expect(example.innerText()).resolves.toMatch(
        new RegExp(
          `${PAINTED.length} slices \\(${PAINTED.map((k) => k + 1).join(', ')}\\)\\s+${CLASSES.join('\\s*')}`,
        ),
      );

      // ... and a SEG that another tool stored for other slices of the series, opened in the viewer, added
      // with the panel's SEG button (its segments map to the classes by name)
      const segUid = await storeTruthSeg(stack, FROM_SEG);
      await runCommand(page, 'nnsam.showSeg', {
        StudyInstanceUID: phantom.studyInstanceUID,
        SeriesInstanceUID: segUid,
      });
      await page.click('[data-cy="nnsam-btn"]');
      await page.locator('[data-cy="nnsam-seg-sources"] button', { hasText: 'Ground truth' }).click();
      await waitForCount(page, '[data-cy="nnsam-example"]', 2);
      const examples = await api<Example[]>(`/projects/${projectId}/examples`);
      expect(examples.map((e) => [e.sourceKind, e.labelledSlices, e.classesPresent])).toEqual([
        ['labelmap', PAINTED, [1, 2, 3]],
        ['seg', FROM_SEG, [1, 2, 3]],
      ]);
      // the painted labelmap and the SEG leave the screen (the result is measured alone below)
      await clearSegmentations(page);
      mark('training set');

      // 4. Train with a tiny budget: the progress bar and the loss curve move while it runs
      await page.fill('[data-cy="nnsam-train-minutes"]', String(TRAIN_MINUTES));
      await page.click('[data-cy="nnsam-train-button"]');
      const seen = { percents: new Set<string>(), points: new Set<number>(), stages: new Set<string>() };
      const model = page.locator('[data-cy="nnsam-model"]');
      const deadline = Date.now() + 180_000;
      while (!(await model.isVisible())) {
        if (Date.now() > deadline) throw new Error('training did not finish in 3 minutes');
        const progress = page.locator('[data-cy="nnsam-progress"]');
        const stage = await progress.getAttribute('data-stage', { timeout: 100 }).catch(() => null);
        if (stage) seen.stages.add(stage);
        if (stage === 'training') {
          seen.percents.add(
            (await progress.getAttribute('data-percent', { timeout: 100 }).catch(() => '')) ?? '',
          );
        }
        const points = await page
          .locator('[data-cy="nnsam-loss-curve"]')
          .getAttribute('data-points', { timeout: 100 })
          .catch(() => null);
        if (points) seen.points.add(Number(points));
        await page.waitForTimeout(200);
      }
      mark('training');
      expect([...seen.stages]).toContain('training');
      expect(seen.percents.size, `training percentages seen: ${[...seen.percents]}`).toBeGreaterThanOrEqual(
        2,
      );
      expect(seen.points.size, `curve sizes seen: ${[...seen.points]}`).toBeGreaterThanOrEqual(2);
      const project = await api<{ latestModelId: string }>(`/projects/${projectId}`);
      const trained = await api<Model>(`/models/${project.latestModelId}`);
      const iterations = trained.metrics.iterations as number;
      console.error(`[training] ${JSON.stringify(trained.metrics)}`);
      expect(iterations).toBeGreaterThan(0);
      expect(iterations).toBeLessThanOrEqual(MAX_ITERATIONS);
      expect(trained.metrics.trainSlices).toBe(PAINTED.length + FROM_SEG.length);
      expect(trained.metrics.bestValDice ?? null).toBeNull();
      await expect(model.innerText()).resolves.toContain(`${trained.name} · ${iterations} iterations`);
      await expect(model.innerText()).resolves.toContain(`${PAINTED.length + FROM_SEG.length} labelled`);
      await expect(model.innerText()).resolves.not.toContain('val Dice');
      const curve = page.locator('[data-cy="nnsam-loss-curve"]');
      await expect(curve.locator('polyline[data-series="loss"]').count()).resolves.toBe(1);
      await page.locator('[data-cy="nnsam-train"]').scrollIntoViewIfNeeded();
      await noToasts(page);
      await saveScreenshot(page, 'panel.png');

      // 5. One click in the toolbar: segment the series with the latest model, the SEG appears as overlay
      await page.waitForSelector('[data-cy="nnsamSegmentLatest"] button:not([disabled])');
      await page.click('[data-cy="nnsamSegmentLatest"] button');
      await page.waitForSelector('[data-cy="nnsam-segment"][data-state="succeeded"]', { timeout: 120_000 });
      mark('segmentation');
      await waitForCount(page, '[data-cy="nnsam-result-segment"]', CLASSES.length);
      await expect(page.locator('[data-cy="nnsam-result-segment"]').allInnerTexts()).resolves.toEqual(
        CLASSES.map((name) => `${name}\nHide`),
      );

      // the server's result names the SEG; Orthanc holds it; OHIF shows it with one segment per class
      const [segJob] = await api<Job[]>('/jobs?kind=segment&limit=1');
      const result = segJob!.result as SegmentResult;
      expect(result.stored).toBe(true);
      const qido = (await (
        await fetch(`${stack.demo.dicomWebUpstream}/studies/${phantom.studyInstanceUID}/series?Modality=SEG`)
      ).json()) as Array<Record<string, { Value: string[] }>>;
      expect(qido.map((s) => s['0020000E']!.Value[0])).toContain(result.segSeriesInstanceUID);
      const shown = await shownSeg(page, result.segSeriesInstanceUID);
      expect(shown.segmentLabels).toEqual(CLASSES);

      // the overlay is drawn: each segment's Hide changes about as many canvas pixels as the SEG has
      // pixels of that segment on the slice on screen; Show brings them back
      const scale = await canvasPixelsPerImagePixel(page);
      const toggles = page.locator('[data-cy="nnsam-toggle-segment"]');
      let checked = 0;
      for (const value of [1, 2, 3]) {
        const count = shown.counts[value] ?? 0;
        if (count < 20) continue; // too small on this slice to measure
        await snapshotViewport(page, `all-${value}`);
        await toggles.nth(value - 1).click();
        await page.waitForSelector(`[data-segment="${value}"] [aria-pressed="false"]`);
        await nextFrames(page);
        await snapshotViewport(page, `without-${value}`);
        const hidden = await compareSnapshots(page, `without-${value}`, `all-${value}`);
        expect(hidden.changed, `segment ${value}`).toBeGreaterThan(0.7 * count * scale ** 2);
        expect(hidden.changed, `segment ${value}`).toBeLessThan(1.3 * count * scale ** 2);
        await toggles.nth(value - 1).click();
        await page.waitForSelector(`[data-segment="${value}"] [aria-pressed="true"]`);
        await nextFrames(page);
        await snapshotViewport(page, `again-${value}`);
        const back = await compareSnapshots(page, `all-${value}`, `again-${value}`);
        expect(back.changed).toBeLessThan(0.05 * hidden.changed);
        checked++;
      }
      expect(checked, `segments on the slice on screen: ${JSON.stringify(shown.counts)}`).toBeGreaterThan(0);
      await page.waitForSelector(PANEL);
      await page.locator('[data-cy="nnsam-segment"]').scrollIntoViewIfNeeded();
      await noToasts(page);
      await saveScreenshot(page, 'overlay.png');

      // the training set's Remove button takes an example off the server
      await page.locator('[data-cy="nnsam-remove-example"]').first().click();
      await waitForCount(page, '[data-cy="nnsam-example"]', 1);
      expect((await api<Example[]>(`/projects/${projectId}/examples`)).map((e) => e.sourceKind)).toEqual([
        'seg',
      ]);

      // one click for a slice that shows none of the classes: it becomes a labelled, all-background slice.
      // (The phantom shows the heart on every slice, so this comes after training, only to check the path
      // from the slice on screen to the training set.)
      const negativeK = 5;
      await showInstance(page, phantom.instances[negativeK]!.sopInstanceUID);
      await page.click('[data-cy="nnsam-add-empty-slice"]');
      await waitForCount(page, '[data-cy="nnsam-example"]', 2);
      await expect(page.locator('[data-cy="nnsam-example"]').nth(1).innerText()).resolves.toMatch(
        new RegExp(`1 slice \\(${negativeK + 1}\\)\\s+none of the classes`),
      );
      expect(
        (await api<Example[]>(`/projects/${projectId}/examples`)).map((e) => [
          e.sourceKind,
          e.labelledSlices,
          e.classesPresent,
        ]),
      ).toEqual([
        ['seg', FROM_SEG, [1, 2, 3]],
        ['labelmap', [negativeK], []],
      ]);

      const pageErrors = stack.browser.errors.filter((e) => !/ERR_CONNECTION_REFUSED|ERR_FAILED/.test(e));
      expect(pageErrors).toEqual([]);
      mark('checks');
    },
  );
});

/** Canvas CSS pixel -> (column, row) of the image shown in the active viewport, via cornerstone's geometry. */
async function canvasToImagePixel(page: Page, x: number, y: number): Promise<[number, number]> {
  return page.evaluate(
    ([cx, cy]) => {
      const w = window as unknown as {
        services: { viewportGridService: { getActiveViewportId(): string } };
        cornerstone: {
          getRenderingEngines(): Array<{
            getViewport(
              id: string,
            ): { canvasToWorld(p: [number, number]): number[]; getCurrentImageId(): string } | undefined;
          }>;
          utilities: { worldToImageCoords(imageId: string, world: number[]): [number, number] };
        };
      };
      const id = w.services.viewportGridService.getActiveViewportId();
      const vp = w.cornerstone
        .getRenderingEngines()
        .map((e) => e.getViewport(id))
        .find(Boolean)!;
      const [i, j] = w.cornerstone.utilities.worldToImageCoords(
        vp.getCurrentImageId(),
        vp.canvasToWorld([cx, cy]),
      );
      return [Math.floor(i), Math.floor(j)] as [number, number];
    },
    [x, y] as const,
  );
}

/**
 * The SEG series' segmentation as OHIF holds it: segment labels, and how many pixels of each segment the
 * slice on screen carries.
 */
async function shownSeg(
  page: Page,
  segSeriesInstanceUID: string,
): Promise<{ segmentLabels: string[]; counts: Record<number, number> }> {
  return page.evaluate((uid) => {
    const w = window as unknown as {
      services: {
        viewportGridService: { getActiveViewportId(): string };
        displaySetService: { getDisplaySetsForSeries(uid: string): Array<{ displaySetInstanceUID: string }> };
        segmentationService: {
          getSegmentation(id: string):
            | {
                segments: Record<number, { label: string } | undefined>;
                representationData: { Labelmap: { imageIds: string[] } };
              }
            | undefined;
        };
      };
      cornerstone: {
        getRenderingEngines(): Array<{
          getViewport(id: string): { getCurrentImageId(): string } | undefined;
        }>;
        cache: {
          getImage(
            id: string,
          ): { referencedImageId: string; voxelManager: { getScalarData(): ArrayLike<number> } } | undefined;
        };
      };
    };
    const ds = w.services.displaySetService.getDisplaySetsForSeries(uid)[0];
    if (!ds) throw new Error(`no display set for SEG series ${uid}`);
    const seg = w.services.segmentationService.getSegmentation(ds.displaySetInstanceUID);
    if (!seg) throw new Error(`SEG series ${uid} is not loaded as a segmentation`);
    const id = w.services.viewportGridService.getActiveViewportId();
    const current = w.cornerstone
      .getRenderingEngines()
      .map((e) => e.getViewport(id))
      .find(Boolean)!
      .getCurrentImageId();
    const counts: Record<number, number> = {};
    for (const imageId of seg.representationData.Labelmap.imageIds) {
      const image = w.cornerstone.cache.getImage(imageId);
      if (image?.referencedImageId !== current) continue;
      const data = image.voxelManager.getScalarData();
      for (let n = 0; n < data.length; n++) if (data[n]) counts[data[n]!] = (counts[data[n]!] ?? 0) + 1;
    }
    const segmentLabels = Object.values(seg.segments)
      .filter((s): s is { label: string } => !!s)
      .map((s) => s.label);
    return { segmentLabels, counts };
  }, segSeriesInstanceUID);
}

/**
 * Waits until OHIF's notifications (toasts, a few seconds each) are gone, so screenshots show the panel.
 * Sonner pauses a toast's timer while the pointer is over the toaster (bottom right, where the panel's
 * buttons are), so the pointer moves to the top-left corner first; a toast still there is named.
 */
async function noToasts(page: Page): Promise<void> {
  await page.mouse.move(1, 1);
  const gone = await page
    .waitForFunction(() => !document.querySelector('[data-sonner-toast]'), undefined, { timeout: 30_000 })
    .then(() => true)
    .catch(() => false);
  if (gone) return;
  const texts = await page.locator('[data-sonner-toast]').allInnerTexts();
  throw new Error(`notifications still shown after 30 s: ${JSON.stringify(texts)}`);
}

/** Logs how long each step of a long test took (stderr), to see where CI time goes. */
function timer(): (step: string) => void {
  let last = Date.now();
  return (step) => {
    const now = Date.now();
    console.error(`[timing] ${step}: ${((now - last) / 1000).toFixed(1)} s`);
    last = now;
  };
}

/**
 * Stores a SEG of the phantom's ground truth on some slices (as another tool would), series description
 * "Ground truth"; returns its Series Instance UID.
 */
async function storeTruthSeg(stack: ViewerStack, slices: number[]): Promise<string> {
  const phantom = stack.demo.phantom!;
  const client = new DicomwebClient({ url: stack.demo.dicomWebUpstream });
  const series = await loadSeriesFromDicomweb(client, phantom.studyInstanceUID, phantom.seriesInstanceUID);
  const [nx, ny] = phantom.labels.geometry.dims;
  const sparse = new Uint8Array(phantom.labels.data.length);
  for (const k of slices)
    sparse.set(phantom.labels.data.subarray(k * nx * ny, (k + 1) * nx * ny), k * nx * ny);
  const seg = writeSeg(
    { geometry: phantom.labels.geometry, data: sparse },
    series,
    { 1: 'Right ventricle', 2: 'Myocardium', 3: 'Left ventricle' },
    { name: 'test', version: '1' },
    { seriesDescription: 'Ground truth' },
  );
  await client.storeInstances([seg.bytes]);
  return seg.seriesInstanceUID;
}

/** Takes every segmentation off the viewer (the user's "delete"), so the next overlay is measured alone. */
async function clearSegmentations(page: Page): Promise<void> {
  await page.evaluate(() => {
    const s = (window as unknown as { services: { segmentationService: { removeAllSegmentations(): void } } })
      .services.segmentationService;
    s.removeAllSegmentations();
  });
  await nextFrames(page);
}
