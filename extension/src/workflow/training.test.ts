import type { Example, Job, JobEvent, Model, Project } from '@nnsam/server/api';
import { describe, expect, it, vi } from 'vitest';

import { HEART_PROJECT, recordingNotices } from '../../../test/support/panel.js';
import { TrainingStore } from './training.js';

const heart = HEART_PROJECT;

const labelled = { id: 'ex1', labelledSlices: [3, 8] } as unknown as Example;
const imagesOnly = { id: 'ex2', labelledSlices: [] } as unknown as Example;
const model = { id: 'm1', name: 'Heart #1', metrics: { bestValDice: 0.8123 } } as unknown as Model;

/** A training store over a fake API whose job runs through `events` and ends with a model. */
function trainingWith(examples: Example[], events: JobEvent[]) {
  const { notices, told } = recordingNotices();
  const changed: Project[][] = [];
  const api = {
    train: async () => ({ id: 'j1', kind: 'train', state: 'queued' }) as unknown as Job,
    cancelJob: async () => ({}) as Job,
    job: async () =>
      ({ id: 'j1', kind: 'train', state: 'succeeded', result: { modelId: 'm1' } }) as unknown as Job,
    jobs: async () => [],
    model: async () => model,
    projects: async () => [{ ...heart, latestModelId: 'm1' }],
    async *jobEvents(_jobId: string, after: number) {
      yield* events.filter((e) => e.seq > after);
    },
  };
  const store = new TrainingStore(api, { minutes: 1, encoder: 'auto' }, notices, {
    projectId: () => heart.id,
    requireProject: () => heart,
    examples: () => examples,
    projectsChanged: (projects) => void changed.push(projects),
  });
  return { store, told, changed };
}

const at = (seq: number, event: Record<string, unknown>) => ({ seq, time: 'now', ...event }) as JobEvent;

describe('TrainingStore', () => {
  it('follows a run: progress, the loss curve, then the model and the projects as the server has them', async () => {
    const { store, told, changed } = trainingWith(
      [labelled],
      [
        at(1, { type: 'state', state: 'running' }),
        at(2, { type: 'progress', progress: { stage: 'training', done: 5, total: 10 } }),
        at(3, { type: 'metrics', metrics: { iteration: 5, loss: 0.7, fraction: 0.6 } }),
        at(4, { type: 'state', state: 'succeeded' }),
      ],
    );
    await store.train({ minutes: 1, encoder: 'none' });
    await vi.waitFor(() => expect(store.state.model).toBe(model));
    expect(store.state.run).toMatchObject({
      jobId: 'j1',
      state: 'succeeded',
      fraction: 0.6,
      curve: [{ iteration: 5, loss: 0.7 }],
      error: null,
    });
    expect(changed).toEqual([[{ ...heart, latestModelId: 'm1' }]]);
    expect(told).toEqual([
      expect.objectContaining({ title: 'nnSAM: model trained', message: 'Heart #1 · validation Dice 0.812' }),
    ]);
  });

  it('refuses to train without examples, or on unlabelled series alone, saying what to do', async () => {
    await expect(trainingWith([], []).store.train({ minutes: 1, encoder: 'none' })).rejects.toMatchObject({
      code: 'no_examples',
    });
    const { store } = trainingWith([imagesOnly], []);
    await expect(store.train({ minutes: 1, encoder: 'none' })).rejects.toMatchObject({
      code: 'no_labelled_slices',
      hint: expect.stringMatching(/Add labelled slices/),
    });
    expect(store.state.run).toBeNull();
  });

  it('forgets the run and the model when another project is selected', async () => {
    const { store } = trainingWith([labelled], [at(1, { type: 'state', state: 'succeeded' })]);
    await store.train({ minutes: 1, encoder: 'none' });
    await vi.waitFor(() => expect(store.state.model).toBe(model));
    store.reset();
    expect(store.state).toEqual({ run: null, model: null });
  });
});
