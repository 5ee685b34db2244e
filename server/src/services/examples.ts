/**
 * Training examples: a series plus labels (or a series alone: image-only), checked against the PACS when
 * they are added (so a label on the wrong series or of the wrong size is refused at once, not at training
 * time) and read back as volumes when a model is trained.
 */
import { readFile, rm, writeFile, rename } from 'node:fs/promises';

import type { ExampleCreate, LabelmapPayload, Project } from '../api/index.js';
import {
  loadSeriesFromDicomweb,
  readSeg,
  type ClassDefinition,
  type DicomSeries,
  type DicomwebClient,
} from '../dicom/index.js';
import { validateCase } from '../engine/index.js';
import { newId, type Store, type StoredExample, type StoredSource } from '../store/index.js';
import { NnsamError } from '../util/errors.js';
import type { Volume } from '../volume/index.js';
import { classNames } from './classes.js';
import { labelmapToVolume } from './labelmap.js';

export interface ExampleLabels {
  labels: Volume<Uint8Array>;
  labelledSlices: number[];
}

/** The sources that carry labels (an image-only example has none to read). */
export type LabelledSource = Exclude<StoredSource, { kind: 'image' }>;

/** Reads the labels of an example on its (already loaded) series, as project class values. */
export async function labelsOf(
  source: LabelledSource,
  series: DicomSeries,
  classes: readonly ClassDefinition[],
  client: DicomwebClient,
  studyInstanceUID: string,
): Promise<ExampleLabels> {
  if (source.kind === 'labelmap') {
    let payload: unknown;
    try {
      payload = JSON.parse(await readFile(source.file, 'utf8'));
    } catch (e) {
      throw new NnsamError(
        'example_missing',
        `The stored labelmap ${source.file} cannot be read: ${(e as Error).message}`,
        {
          status: 500,
          hint: 'Remove the example and add the labelled slices again.',
        },
      );
    }
    const { labels, labelledSlices } = labelmapToVolume(payload, series);
    checkValues(labels.data, classes, 'The labelmap');
    return { labels, labelledSlices };
  }
  const segs = await client.retrieveSeries(studyInstanceUID, source.segSeriesInstanceUID, {
    transferSyntax: '*',
  });
  if (!segs.length) {
    throw new NnsamError('seg_not_found', `The PACS has no SEG series ${source.segSeriesInstanceUID}.`, {
      status: 404,
    });
  }
  const read = await readSeg(segs[0]!, series);
  const map = segmentMap(
    read.segments.map((s) => ({ number: s.labelValue, label: s.label })),
    classes,
    source.segmentMap,
  );
  const data = new Uint8Array(read.labels.data.length);
  for (let n = 0; n < data.length; n++) data[n] = map.get(read.labels.data[n]!) ?? 0;
  let labelledSlices = read.labelledSlices;
  if (source.labelledSOPInstanceUIDs) {
    const index = new Map(series.slices.map((s, k) => [s.sopInstanceUID, k]));
    labelledSlices = source.labelledSOPInstanceUIDs.map((uid: string) => {
      const k = index.get(uid);
      if (k === undefined) {
        throw new NnsamError(
          'label_on_wrong_series',
          `Slice ${uid} is not an image of series ${series.meta.seriesInstanceUID}.`,
        );
      }
      return k;
    });
  }
  return {
    labels: { geometry: read.labels.geometry, data },
    labelledSlices: [...new Set(labelledSlices)].sort((a, b) => a - b),
  };
}

/** SEG segment number -> class value: the explicit map, else by name (case-insensitive), else by number. */
function segmentMap(
  segments: { number: number; label: string }[],
  classes: readonly ClassDefinition[],
  explicit?: Record<string, number>,
): Map<number, number> {
  const byName = new Map(classes.map((c) => [c.name.toLowerCase(), c.value]));
  const values = new Set(classes.map((c) => c.value));
  const map = new Map<number, number>();
  for (const s of segments) {
    const value =
      explicit?.[String(s.number)] ??
      byName.get(s.label.toLowerCase()) ??
      (values.has(s.number) ? s.number : undefined);
    if (value === undefined) {
      throw new NnsamError(
        'unknown_segment',
        `SEG segment ${s.number} ("${s.label}") matches no class of the project (${classes.map((c) => `${c.value} ${c.name}`).join(', ')}).`,
        {
          hint: 'Name the segment like a project class, or pass segmentMap {"<segment number>": <class value>}.',
        },
      );
    }
    if (value !== 0 && !values.has(value)) {
      throw new NnsamError(
        'unknown_class',
        `segmentMap sends segment ${s.number} to class ${value}, which the project does not have.`,
      );
    }
    map.set(s.number, value);
  }
  return map;
}

function checkValues(data: Uint8Array, classes: readonly ClassDefinition[], what: string): void {
  const allowed = new Set([0, ...classes.map((c) => c.value)]);
  const seen = new Set<number>();
  for (const v of data) seen.add(v);
  const unknown = [...seen].filter((v) => !allowed.has(v));
  if (unknown.length) {
    throw new NnsamError(
      'unknown_class',
      `${what} uses label values ${unknown.join(', ')}, which are not classes of the project.`,
      {
        hint: `The project's classes are ${classes.map((c) => `${c.value} = ${c.name}`).join(', ')}.`,
      },
    );
  }
}

function presentValues(labels: Volume<Uint8Array>, slices: number[]): number[] {
  const [nx, ny] = labels.geometry.dims;
  const seen = new Set<number>();
  for (const k of slices)
    for (const v of labels.data.subarray(k * nx * ny, (k + 1) * nx * ny)) if (v) seen.add(v);
  return [...seen].sort((a, b) => a - b);
}

/** Validates a new example against the PACS and stores it (labelmaps as a file under the data dir). */
export async function addExample(
  store: Store,
  client: DicomwebClient,
  project: Project,
  input: ExampleCreate,
): Promise<StoredExample> {
  const { studyInstanceUID, seriesInstanceUID } = input;
  if (input.source.kind === 'image') return addImageOnly(store, client, project, input);
  if (input.source.kind === 'labelmap') {
    const lm: LabelmapPayload = input.source.labelmap;
    if (lm.seriesInstanceUID !== seriesInstanceUID || lm.studyInstanceUID !== studyInstanceUID) {
      throw new NnsamError(
        'label_on_wrong_series',
        `The labelmap was painted on series ${lm.seriesInstanceUID} (study ${lm.studyInstanceUID}), not on series ${seriesInstanceUID}.`,
      );
    }
  }
  const series = await loadSeriesFromDicomweb(client, studyInstanceUID, seriesInstanceUID);
  const id = newId('ex');
  let source: LabelledSource;
  let tmp: string | undefined;
  if (input.source.kind === 'labelmap') {
    const file = store.exampleFile(id);
    tmp = `${file}.tmp`;
    await writeFile(tmp, JSON.stringify(input.source.labelmap));
    source = { kind: 'labelmap', file };
  } else {
    const { kind: _kind, ...rest } = input.source;
    source = { kind: 'seg', ...rest };
  }
  try {
    const read = await labelsOf(
      tmp ? { kind: 'labelmap', file: tmp } : source,
      series,
      project.classes,
      client,
      studyInstanceUID,
    );
    if (!read.labelledSlices.length)
      throw new NnsamError('no_labelled_slices', 'The labels cover no slice of the series.');
    if (tmp) await rename(tmp, (source as { file: string }).file);
    return store.examples.create({
      id,
      projectId: project.id,
      studyInstanceUID,
      seriesInstanceUID,
      sourceKind: source.kind,
      source,
      labelledSlices: read.labelledSlices,
      labelledSOPInstanceUIDs: read.labelledSlices.map((k) => series.slices[k]!.sopInstanceUID),
      classesPresent: presentValues(read.labels, read.labelledSlices),
    });
  } catch (e) {
    if (tmp) await rm(tmp, { force: true });
    throw e;
  }
}

/**
 * A series without labels. Refused when the project already has it unlabelled, and when it cannot be a
 * training volume: the engine's own check runs now, so its message names the series instead of
 * "example 3" in a training job that fails minutes later.
 */
async function addImageOnly(
  store: Store,
  client: DicomwebClient,
  project: Project,
  input: ExampleCreate,
): Promise<StoredExample> {
  const { studyInstanceUID, seriesInstanceUID } = input;
  const known = store.examples
    .list(project.id)
    .find((e) => e.sourceKind === 'image' && e.seriesInstanceUID === seriesInstanceUID);
  if (known) {
    throw new NnsamError(
      'duplicate_example',
      `Series ${seriesInstanceUID} is already in the training set of project "${project.name}" unlabelled (example ${known.id}).`,
      { status: 409, hint: 'Nothing to add: its images are already used.' },
    );
  }
  const series = await loadSeriesFromDicomweb(client, studyInstanceUID, seriesInstanceUID);
  validateCase(
    { image: series.volume, labelledSlices: [], name: `Series ${seriesInstanceUID}` },
    0,
    classNames(project.classes),
  );
  return store.examples.create({
    projectId: project.id,
    studyInstanceUID,
    seriesInstanceUID,
    sourceKind: 'image',
    source: { kind: 'image' },
    labelledSlices: [],
    labelledSOPInstanceUIDs: [],
    classesPresent: [],
  });
}

export async function removeExampleFiles(example: StoredExample): Promise<void> {
  if (example.source.kind === 'labelmap') await rm(example.source.file, { force: true });
}
