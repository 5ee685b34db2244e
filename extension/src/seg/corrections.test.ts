import { describe, expect, it } from 'vitest';

import { collectLabelmap } from '../labelmap/collect.js';
import type { OhifContext } from '../ohif/context.js';
import { CorrectionTracker, hashLabels } from './corrections.js';

/**
 * A fake viewer as OHIF 3.13 holds a loaded SEG: one viewport showing a 3-slice series, a per-slice
 * labelmap (one derived image per source image), and segmentationService's SEGMENTATION_DATA_MODIFIED
 * with `{ segmentationId }` only.
 */
function viewer() {
  const sources = [
    'wadors:/s/1/instances/a/frames/1',
    'wadors:/s/1/instances/b/frames/1',
    'wadors:/s/1/instances/c/frames/1',
  ];
  const images = new Map(
    sources.map((source, k) => {
      const data = new Uint8Array(4);
      if (k === 1) data.set([1, 1, 0, 0]); // the model labelled slice b
      return [`label:${k}`, { imageId: `label:${k}`, rows: 2, columns: 2, referencedImageId: source, data }];
    }),
  );
  const listeners: Array<(p: unknown) => void> = [];
  let current = sources[0]!;
  const ctx = {
    services: {
      segmentationService: {
        EVENTS: { SEGMENTATION_DATA_MODIFIED: 'event::segmentation_data_modified' },
        subscribe: (_event: string, cb: (p: unknown) => void) => {
          listeners.push(cb);
          return { unsubscribe: () => listeners.splice(listeners.indexOf(cb), 1) };
        },
        getSegmentation: (id: string) =>
          id === 'seg'
            ? {
                segmentationId: 'seg',
                label: 'nnSAM Heart',
                segments: { 1: { segmentIndex: 1, label: 'RV' }, 2: { segmentIndex: 2, label: 'LV' } },
                representationData: { Labelmap: { imageIds: [...images.keys()] } },
              }
            : undefined,
        getActiveSegmentation: () => ctx.services.segmentationService.getSegmentation('seg'),
        getSegmentationRepresentations: (_vp: string, spec?: { segmentationId?: string }) =>
          !spec?.segmentationId || spec.segmentationId === 'seg'
            ? [{ segmentationId: 'seg', type: 'Labelmap' }]
            : [],
      },
      viewportGridService: {
        getState: () => ({ viewports: new Map([['vp1', {}]]) }),
        getActiveViewportId: () => 'vp1',
        getDisplaySetsUIDsForViewport: () => ['ds1'],
      },
      displaySetService: {
        getDisplaySetByUID: () => ({
          displaySetInstanceUID: 'ds1',
          StudyInstanceUID: '1',
          SeriesInstanceUID: '1.1',
          Modality: 'MR',
          imageIds: sources,
        }),
      },
      cornerstoneViewportService: { getCornerstoneViewport: () => ({ getCurrentImageId: () => current }) },
    },
    cornerstone: () => ({
      cache: {
        getImage: (id: string) => {
          const image = images.get(id);
          return image && { ...image, voxelManager: { getScalarData: () => image.data } };
        },
      },
      metaData: {
        get: (_type: string, id: string) => ({ SOPInstanceUID: id.split('/')[4], Rows: 2, Columns: 2 }),
      },
    }),
  } as unknown as OhifContext;
  const emit = (segmentationId = 'seg') => listeners.forEach((l) => l({ segmentationId }));
  const labels = (k: number) => images.get(`label:${k}`)!.data;
  return { ctx, sources, emit, labels, listeners, show: (k: number) => (current = sources[k]!) };
}

describe('hashLabels', () => {
  it('tells labels apart and gives equal labels one hash', () => {
    expect(hashLabels([0, 1, 2])).toBe(hashLabels(Uint8Array.from([0, 1, 2])));
    expect(hashLabels([0, 1, 2])).not.toBe(hashLabels([0, 2, 1]));
    expect(hashLabels([0, 0])).not.toBe(hashLabels([0]));
  });
});

describe('CorrectionTracker', () => {
  it('counts a slice once an edit event finds its labels changed, and only that slice', () => {
    const v = viewer();
    const seen: string[][] = [];
    const tracker = new CorrectionTracker(v.ctx, 'seg', (ids) => seen.push(ids));
    tracker.start();
    // OHIF announces the segmentation after drawing it: nothing changed, nothing counts
    v.emit();
    expect(tracker.correctedImageIds).toEqual([]);
    // the user scrolls to slice c and paints there
    v.show(2);
    v.labels(2)[3] = 2;
    v.emit();
    expect(tracker.correctedImageIds).toEqual([v.sources[2]]);
    // events of another segmentation are not ours
    v.show(1);
    v.labels(1)[0] = 0;
    v.emit('other');
    expect(tracker.correctedImageIds).toEqual([v.sources[2]]);
    // erasing the model's false positive on slice b is a correction too
    v.emit();
    expect(tracker.correctedImageIds).toEqual([v.sources[2], v.sources[1]]);
    expect(seen).toEqual([[v.sources[2]], [v.sources[2], v.sources[1]]]);
  });

  it('starts again from the added labels after reset, and stops listening on stop', () => {
    const v = viewer();
    const tracker = new CorrectionTracker(v.ctx, 'seg', () => undefined);
    const stop = tracker.start();
    v.show(0);
    v.labels(0)[0] = 1;
    v.emit();
    tracker.reset();
    expect(tracker.correctedImageIds).toEqual([]);
    v.emit(); // the added labels are the new baseline
    expect(tracker.correctedImageIds).toEqual([]);
    v.labels(0)[1] = 1;
    v.emit();
    expect(tracker.correctedImageIds).toEqual([v.sources[0]]);
    stop();
    expect(v.listeners).toEqual([]);
  });

  it('gives collectLabelmap what to send: the corrected slices only, as class values, erased ones as negatives', () => {
    const v = viewer();
    const tracker = new CorrectionTracker(v.ctx, 'seg', () => undefined);
    tracker.start();
    v.show(2);
    v.labels(2).set([2, 2, 0, 0]); // painted with segment 2 ("LV", class 3)
    v.emit();
    v.show(1);
    v.labels(1).fill(0); // erased what the model labelled
    v.emit();
    const payload = collectLabelmap(v.ctx, {
      segmentationId: 'seg',
      onlyImageIds: tracker.correctedImageIds,
      labelValues: { 1: 1, 2: 3 },
    });
    expect(payload.slices.map((s) => s.sopInstanceUID)).toEqual(['b', 'c']);
    expect(payload.segments).toEqual([{ labelValue: 3, label: 'LV' }]);
    // slice a, never touched, is not sent; without the filter only slices with labels go (b would be lost)
    expect(collectLabelmap(v.ctx, { segmentationId: 'seg' }).slices.map((s) => s.sopInstanceUID)).toEqual([
      'c',
    ]);
  });
});
