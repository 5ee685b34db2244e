/**
 * Panel section 1: is the nnSAM server reachable (health, no auth), and what it offers this viewer (info:
 * device, encoders, auth). Checked at start and polled while the panel is on screen.
 */
import type { Health, Info } from '@nnsam/server/api';

import type { NnsamApi } from '../api/client.js';
import { errorText, type ErrorText } from '../errors.js';
import type { Notices } from './notices.js';
import { Store } from './store.js';

export type ServerState =
  | { kind: 'checking' }
  | { kind: 'ok'; health: Health; info: Info | null; infoError: ErrorText | null }
  | { kind: 'error'; message: string; hint?: string };

export interface ServerSectionState {
  status: ServerState;
}

export class ServerStore extends Store<ServerSectionState> {
  constructor(
    private readonly api: Pick<NnsamApi, 'health' | 'info'>,
    private readonly notices: Notices,
    /** runs when the server (or access to it) just became available: the projects load then */
    private readonly onAvailable: () => Promise<void>,
  ) {
    super({ status: { kind: 'checking' } });
  }

  /** Health, then info. Reports a change for the worse once, not at every poll. Never rejects. */
  async check(): Promise<void> {
    const before = this.state.status;
    if (before.kind !== 'ok') this.set({ status: { kind: 'checking' } });
    let health: Health;
    try {
      health = await this.api.health();
    } catch (e) {
      const text = errorText(e);
      if (before.kind !== 'error' || before.message !== text.message)
        this.notices.report('nnSAM server unreachable', e);
      this.set({ status: { kind: 'error', ...text } });
      return;
    }
    let info: Info | null = null;
    let infoError: ErrorText | null = null;
    try {
      info = await this.api.info();
    } catch (e) {
      infoError = errorText(e);
      const previous = before.kind === 'ok' ? before.infoError : null;
      if (previous?.message !== infoError.message)
        this.notices.report('nnSAM: the server refuses this viewer', e);
    }
    this.set({ status: { kind: 'ok', health, info, infoError } });
    // onAvailable reports its own failure, as a notification and in its section
    if (!infoError && (before.kind !== 'ok' || before.infoError))
      await this.onAvailable().catch(() => undefined);
  }
}
