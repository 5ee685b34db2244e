/**
 * Writes the trainer's data folder (format in docs/engine.md, schemas in trainer-input.ts): plan.json,
 * dataset.json and one .npy per array of every slice. Unlabelled slices (split "unlabelled") have no label file: the trainer learns from
 * them only through its teacher's confident pseudo-labels, never as background.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { float32ToHalf } from '../float16.js';
import type { Plan } from '../planning/plan.js';
import { EMBEDDING_CHANNELS, EMBEDDING_GRID } from '../types.js';
import { writeNpy } from './npy.js';
import { TrainerDataset, type TrainerDatasetSlice } from './trainer-input.js';

export interface TrainerSlice {
  id: string;
  split: TrainerDatasetSlice['split'];
  shape: [number, number];
  /** Preprocessed input: plan.network.inputSlices planes of shape (Preprocessor.input) */
  image: Float32Array;
  label?: Uint8Array;
  embedding?: Float32Array;
}

export class TrainerDataWriter {
  private readonly entries: TrainerDatasetSlice[] = [];

  constructor(
    readonly dir: string,
    private readonly plan: Plan,
  ) {}

  async add(slice: TrainerSlice): Promise<void> {
    await mkdir(join(this.dir, 'slices'), { recursive: true });
    const base = `slices/${slice.id}`;
    const entry: TrainerDatasetSlice = {
      id: slice.id,
      split: slice.split,
      shape: slice.shape,
      image: `${base}_image.npy`,
    };
    // 2.5D: [inputSlices, H, W], the slice in the middle channel; 2D keeps the [H, W] files of before
    const channels = this.plan.network.inputSlices;
    const imageShape = channels > 1 ? [channels, ...slice.shape] : slice.shape;
    await writeNpy(join(this.dir, entry.image), { dtype: 'float32', shape: imageShape, data: slice.image });
    if (slice.label) {
      entry.label = `${base}_label.npy`;
      await writeNpy(join(this.dir, entry.label), { dtype: 'uint8', shape: slice.shape, data: slice.label });
    }
    if (slice.embedding) {
      entry.embedding = `${base}_embedding.npy`;
      await writeNpy(join(this.dir, entry.embedding), {
        dtype: 'float16',
        shape: [EMBEDDING_CHANNELS, EMBEDDING_GRID, EMBEDDING_GRID],
        data: float32ToHalf(slice.embedding),
      });
    }
    this.entries.push(entry);
  }

  async finish(): Promise<void> {
    await writeFile(join(this.dir, 'plan.json'), JSON.stringify(this.plan, null, 2));
    // parsed as the trainer will check it (contract.py): a mistake here fails in Node, by field
    const dataset = TrainerDataset.parse({
      format: 1,
      numClasses: this.plan.numClasses,
      classes: this.plan.classes,
      ignoreValue: this.plan.ignoreValue,
      embedding: this.plan.embedding
        ? { channels: this.plan.embedding.channels, grid: this.plan.embedding.grid }
        : null,
      slices: this.entries,
    });
    await writeFile(join(this.dir, 'dataset.json'), JSON.stringify(dataset, null, 2));
  }
}
