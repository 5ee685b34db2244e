import type { Health, Info } from '@nnsam/server/api';
import { describe, expect, it } from 'vitest';

import { recordingNotices } from '../../../test/support/panel.js';
import { ViewerError } from '../errors.js';
import { ServerStore } from './server.js';

const health = { status: 'ok', version: '0.1.0' } as unknown as Health;
const info = { encoders: [] } as unknown as Info;

/** A server store over an API whose answers the test changes between checks. */
function serverWith(answers: { health: () => Health; info: () => Info }) {
  const { notices, told } = recordingNotices();
  let available = 0;
  const store = new ServerStore(
    { health: async () => answers.health(), info: async () => answers.info() },
    notices,
    async () => void available++,
  );
  return { store, told, available: () => available };
}

describe('ServerStore', () => {
  it('is ok with health and info, and loads the projects once it becomes available', async () => {
    const { store, told, available } = serverWith({ health: () => health, info: () => info });
    expect(store.state.status).toEqual({ kind: 'checking' });
    await store.check();
    await store.check();
    expect(store.state.status).toEqual({ kind: 'ok', health, info, infoError: null });
    expect(available()).toBe(1);
    expect(told).toEqual([]);
  });

  it('reports an unreachable server once per message, not at every poll, and recovers', async () => {
    const down = new ViewerError('unreachable', 'Cannot reach http://x/api.', { hint: 'Start it.' });
    const answers = {
      health: (): Health => {
        throw down;
      },
      info: () => info,
    };
    const { store, told, available } = serverWith(answers);
    await store.check();
    await store.check();
    expect(store.state.status).toEqual({
      kind: 'error',
      message: 'Cannot reach http://x/api.',
      hint: 'Start it.',
    });
    expect(told.map((t) => t.title)).toEqual(['nnSAM server unreachable']);
    answers.health = () => health;
    await store.check();
    expect(store.state.status.kind).toBe('ok');
    expect(available()).toBe(1);
  });

  it('shows a refused info in the section and does not load the projects then', async () => {
    const { store, told, available } = serverWith({
      health: () => health,
      info: () => {
        throw new ViewerError('unauthorized', 'This viewer has no token.');
      },
    });
    await store.check();
    expect(store.state.status).toMatchObject({
      kind: 'ok',
      info: null,
      infoError: { message: 'This viewer has no token.' },
    });
    expect(told.map((t) => t.title)).toEqual(['nnSAM: the server refuses this viewer']);
    expect(available()).toBe(0);
  });
});
