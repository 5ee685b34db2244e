import type { ClassDef, Project } from '@nnsam/server/api';
import { describe, expect, it } from 'vitest';

import { HEART_PROJECT, recordingNotices } from '../../../test/support/panel.js';
import { ProjectsStore } from './projects.js';

const heart = HEART_PROJECT;

const lungs: Project = { ...heart, id: 'p2', name: 'Lungs' };

/** A projects store over a fake API, a fake browser storage and hooks that record what they were told. */
function projectsWith(list: () => Project[], stored: string | null = null) {
  const { notices, told } = recordingNotices();
  const events: string[] = [];
  const saved: Record<string, string> = {};
  const store = new ProjectsStore(
    {
      projects: async () => list(),
      createProject: async ({ name, classes }: { name: string; classes: ClassDef[] }) => ({
        ...heart,
        id: 'p3',
        name,
        classes,
      }),
    },
    notices,
    {
      closed: () => void events.push('closed'),
      opened: async (p) => void events.push(`opened ${p.id}`),
    },
    { getItem: () => stored, setItem: (k, v) => void (saved[k] = v) },
  );
  return { store, told, events, saved };
}

describe('ProjectsStore', () => {
  it('selects the project last used in this browser, and tells the dependent sections', async () => {
    const { store, events, saved } = projectsWith(() => [heart, lungs], 'p2');
    await store.load();
    expect(store.project?.name).toBe('Lungs');
    expect(events).toEqual(['closed', 'opened p2']);
    expect(saved).toEqual({ 'nnsam.projectId': 'p2' });
  });

  it('reopens without closing when the same project is selected again', async () => {
    const { store, events } = projectsWith(() => [heart]);
    await store.load();
    await store.select('p1');
    expect(events).toEqual(['closed', 'opened p1', 'opened p1']);
  });

  it('creates a project, selects it and says so', async () => {
    const { store, told } = projectsWith(() => []);
    await store.load();
    const created = await store.create('Liver', [{ value: 1, name: 'Liver' }]);
    expect(store.state.projectId).toBe(created.id);
    expect(told).toEqual([
      expect.objectContaining({ title: 'nnSAM', message: 'Project "Liver" created with 1 classes.' }),
    ]);
  });

  it('shows a failed load in the section and as a notification, and still rejects', async () => {
    const { store, told } = projectsWith(() => {
      throw new Error('HTTP 500');
    });
    await expect(store.load()).rejects.toThrow('HTTP 500');
    expect(store.state.error).toEqual({ message: 'HTTP 500' });
    expect(told.map((t) => t.title)).toEqual(['nnSAM: cannot load the projects']);
  });

  it('names what to do when an action needs a project and none is selected', () => {
    const { store } = projectsWith(() => []);
    expect(() => store.requireProject()).toThrow(expect.objectContaining({ code: 'no_project' }));
  });
});
