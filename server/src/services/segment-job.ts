/**
 * The segment job: series from the PACS -> engine.predictVolume -> DICOM SEG on the series grid -> STOW-RS
 * back to the PACS (and/or kept for download).
 */
import { rename, rm, writeFile } from 'node:fs/promises';

import type { SegmentResult } from '../api/index.js';
import { loadSeriesFromDicomweb, writeSeg } from '../dicom/index.js';
import {
  leastCertainSlices,
  predictVolume,
  ttaFromSetting,
  type InferenceRun,
  type SliceUncertainty,
  UNCERTAINTY_RULE,
} from '../engine/index.js';
import { SegmentJobPayload } from '../jobs/payloads.js';
import type { JobContext, JobOutcome } from '../jobs/types.js';
import { version } from '../version.js';
import type { ServiceEnv } from './env.js';
import { engineProgress } from './progress.js';

export async function runSegmentJob(env: ServiceEnv, raw: unknown, ctx: JobContext): Promise<JobOutcome> {
  const payload = SegmentJobPayload.parse(raw);
  const record = { id: payload.modelId, ...payload.model };
  const model = await env.model(payload.modelId);
  const client = env.pacs(ctx.jobId);
  ctx.progress({ stage: 'fetching', message: 'loading the series' });
  const series = await loadSeriesFromDicomweb(client, payload.studyInstanceUID, payload.seriesInstanceUID, {
    logger: ctx.log,
  });
  ctx.signal.throwIfAborted();
  let run: InferenceRun | undefined;
  const uncertainty: SliceUncertainty[] = [];
  const labels = await predictVolume(model, series.volume, {
    tta: payload.tta ?? ttaFromSetting(env.config.engine.tta),
    ...(env.config.engine.maxPixels ? { maxPixels: env.config.engine.maxPixels } : {}),
    wholeSlice: env.config.engine.wholeSlice,
    onRun: (r) => (run = r),
    uncertainty,
    onProgress: engineProgress(ctx),
    signal: ctx.signal,
  });
  ctx.signal.throwIfAborted();
  ctx.progress({ stage: 'writing', message: 'writing the DICOM SEG' });
  const seg = writeSeg(
    labels,
    series,
    record.classes, // the model's class definitions as recorded: writeSeg resolves their codes
    {
      name: 'nnSAM',
      version: `${version} model ${record.id}`,
      parameters: `encoder ${record.encoder}; test-time augmentation ${run?.tta ? 'on' : 'off'}`,
    },
    { seriesDescription: `nnSAM ${record.name}`.slice(0, 64), logger: ctx.log },
  );
  const voxels = new Map<number, number>();
  for (const v of labels.data) if (v) voxels.set(v, (voxels.get(v) ?? 0) + 1);
  const result: SegmentResult = {
    studyInstanceUID: seg.studyInstanceUID,
    segSeriesInstanceUID: seg.seriesInstanceUID,
    segSOPInstanceUID: seg.sopInstanceUID,
    stored: false,
    segments: record.classes.map((c) => ({
      number: c.value,
      label: c.name,
      voxels: voxels.get(c.value) ?? 0,
    })),
    uncertainty: uncertaintyResult(uncertainty, series.slices),
  };
  // A failed job keeps no file: neither a partial one (disk full) nor a whole one whose STOW then failed.
  const file = payload.returnSeg ? env.resultFile(ctx.jobId) : undefined;
  try {
    if (file) {
      await writeFile(`${file}.tmp`, seg.bytes);
      await rename(`${file}.tmp`, file);
      result.segUrl = `/api/jobs/${ctx.jobId}/seg`;
    }
    if (payload.store) {
      ctx.signal.throwIfAborted();
      ctx.progress({ stage: 'storing', message: 'storing the SEG in the PACS (STOW-RS)' });
      await client.storeInstances([seg.bytes], { studyInstanceUID: seg.studyInstanceUID });
      result.stored = true;
    }
  } catch (e) {
    if (file) await Promise.all([rm(`${file}.tmp`, { force: true }), rm(file, { force: true })]);
    throw e;
  }
  return { result };
}

/** Slices suggested for correction, each a click away in the viewer (its SOP instance). */
export const LABEL_NEXT_COUNT = 5;

function uncertaintyResult(
  slices: SliceUncertainty[],
  refs: { sopInstanceUID: string; frameNumber?: number }[],
): SegmentResult['uncertainty'] {
  return {
    rule: UNCERTAINTY_RULE,
    labelNext: leastCertainSlices(slices, LABEL_NEXT_COUNT).map((s) => ({
      index: s.slice,
      sopInstanceUID: refs[s.slice]!.sopInstanceUID,
      ...(refs[s.slice]!.frameNumber !== undefined ? { frameNumber: refs[s.slice]!.frameNumber } : {}),
      score: round3(s.score),
      segments: Object.fromEntries(Object.entries(s.classes).map(([c, v]) => [c, round3(v)])),
    })),
    slices: [...slices]
      .sort((a, b) => a.slice - b.slice)
      .map((s) => ({ index: s.slice, score: round3(s.score) })),
  };
}

const round3 = (v: number) => Math.round(v * 1000) / 1000;
