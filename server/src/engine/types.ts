/** Inputs of the engine's public API (volumes in memory: the server builds them from DICOM). */
import type { Volume } from '../volume/index.js';

/**
 * One training volume: the image, its label volume on the same grid, and which slices (k) are labelled.
 * An image-only case (no labels, no labelled slices) feeds the semi-supervised loss only. A labelled slice
 * whose labels are all 0 says "none of the classes here": a negative example, as cheap as one click.
 */
export interface TrainingCase {
  image: Volume;
  /** Labels 0..N on the image's grid. Only the slices in `labelledSlices` are read; the rest is unlabelled. */
  labels?: Volume;
  /** Slice indices along k that the user labelled (0-based). Every other slice is used without labels. */
  labelledSlices: number[];
  /** Name used in messages (file name or series description); never a patient identifier. */
  name?: string;
}

/**
 * Class names by label value ("1": "liver", ...). Value 0 is background. The engine's names-only view of the
 * server's class definitions (dicom/classes.ts ClassDefinition; services/classes.ts classNames derives it), and
 * the form plan.json and the training manifest carry.
 */
export type ClassMap = Record<string, string>;

/** Label value for pixels without supervision (outside the image after augmentation, unlabelled pixels). */
export const IGNORE_VALUE = 255;

/** Side of the SAM image embedding grid (the encoder maps 1024x1024 to 64x64). */
export const EMBEDDING_GRID = 64;
export const EMBEDDING_CHANNELS = 256;
