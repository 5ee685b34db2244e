/**
 * Panel section 2, the classes: "Start labelling" (a labelmap whose segments are the project's classes)
 * and picking the class the brush paints with; and how an nnSAM result's segments map to class values.
 */
import type { LabelmapPayload, Project } from '@nnsam/server/api';

import { ViewerError } from '../errors.js';
import { createLabelmap } from '../labelmap/create.js';
import type { OhifContext } from '../ohif/context.js';
import type { Segmentation } from '../ohif/types.js';
import type { CorrectionTarget } from './segmentation.js';
import { Store } from './store.js';

export interface ClassesState {
  /** the labelmap made by "Start labelling" (segments = the project's classes) */
  paintSegmentationId: string | null;
}

export interface ClassesDeps {
  requireProject(): Project;
  /** the nnSAM result the user is correcting, if it is the active segmentation */
  correcting(): CorrectionTarget | undefined;
}

export class ClassesStore extends Store<ClassesState> {
  constructor(
    private readonly ctx: OhifContext,
    private readonly deps: ClassesDeps,
  ) {
    super({ paintSegmentationId: null });
  }

  /** Creates a labelmap on the active series whose segments are the project's classes. */
  async startLabelling(): Promise<string> {
    const project = this.deps.requireProject();
    const created = await createLabelmap(this.ctx, {
      classes: project.classes,
      label: `nnSAM · ${project.name}`,
    });
    this.set({ paintSegmentationId: created.segmentationId });
    return created.segmentationId;
  }

  /**
   * Makes a class the segment the brush paints with: on the nnSAM result when the user is correcting it
   * (it is the active segmentation), else on the labelmap "Start labelling" made.
   */
  selectClass(value: number): void {
    const { segmentationService } = this.ctx.services;
    const correcting = this.deps.correcting();
    if (correcting) {
      const index = segmentIndexOfClass(correcting.segmentation, this.deps.requireProject(), value);
      segmentationService.setActiveSegment(correcting.segmentation.segmentationId, index);
      return;
    }
    const id = this.paintSegmentation();
    if (id) segmentationService.setActiveSegment(id, value);
  }

  /** The labelmap "Start labelling" made, if it still exists and is on the active viewport. */
  paintSegmentation(): string | undefined {
    const id = this.state.paintSegmentationId;
    if (!id) return undefined;
    const { segmentationService, viewportGridService } = this.ctx.services;
    const viewportId = viewportGridService.getActiveViewportId();
    if (!segmentationService.getSegmentation(id) || !viewportId) return undefined;
    const onViewport = segmentationService.getSegmentationRepresentations(viewportId, { segmentationId: id });
    return onViewport.length ? id : undefined;
  }
}

/** Label values the project does not have are refused here, naming them (the server would too). */
export function checkClasses(labelmap: LabelmapPayload, project: Project): void {
  const known = new Set(project.classes.map((c) => c.value));
  const unknown = (labelmap.segments ?? []).filter((s) => !known.has(s.labelValue));
  if (unknown.length) {
    throw new ViewerError(
      'unknown_class',
      `The labels use segment ${unknown.map((s) => `${s.labelValue} ("${s.label}")`).join(', ')}, which project "${project.name}" does not have (its classes: ${project.classes.map((c) => `${c.value} ${c.name}`).join(', ')}).`,
      {
        hint: 'Press "Start labelling" in the nnSAM panel: its segments are the project\'s classes. Or delete the extra segments.',
      },
    );
  }
}

/**
 * Segment index -> class value for an nnSAM result: its SEG numbers the segments 1..n in class order and
 * names them after the classes, so a project with classes 1 and 3 gets segments 1 and 2. Matched by name,
 * as the server matches a SEG's segments; a segment that is no class is refused, naming it.
 */
export function classValuesOfSegments(segmentation: Segmentation, project: Project): Record<number, number> {
  const byName = new Map(project.classes.map((c) => [c.name.trim().toLowerCase(), c.value]));
  const values: Record<number, number> = {};
  for (const segment of Object.values(segmentation.segments)) {
    if (!segment) continue;
    const value = byName.get(segment.label.trim().toLowerCase());
    if (value === undefined) {
      throw new ViewerError(
        'unknown_class',
        `Segment ${segment.segmentIndex} ("${segment.label}") of "${segmentation.label}" is not a class of project "${project.name}" (its classes: ${project.classes.map((c) => c.name).join(', ')}).`,
        { hint: 'Correct the result with its own segments only, or delete the extra segment.' },
      );
    }
    values[segment.segmentIndex] = value;
  }
  return values;
}

/** The segment of an nnSAM result that holds a class (the inverse of classValuesOfSegments). */
export function segmentIndexOfClass(segmentation: Segmentation, project: Project, value: number): number {
  const entry = Object.entries(classValuesOfSegments(segmentation, project)).find(([, v]) => v === value);
  if (!entry) {
    const name = project.classes.find((c) => c.value === value)?.name ?? `class ${value}`;
    throw new ViewerError('unknown_class', `"${segmentation.label}" has no segment for ${name}.`, {
      hint: 'Pick one of the segments it has, or segment the series again.',
    });
  }
  return Number(entry[0]);
}
