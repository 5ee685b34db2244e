/**
 * Section 1: is the nnSAM server reachable, and which version. A failure is shown plainly, with what to do.
 * TODO(issue 5): device (CPU/GPU) and whether the SAM encoder weights are present (with the hint to add
 * them) come from the API's info endpoint when it lands.
 */
import type { Health } from '@nnsam/server/api';
import { useCallback, useEffect, useRef, useState } from 'react';

import type { NnsamApi } from '../api/client.js';
import { errorText } from '../errors.js';

export type HealthState =
  { kind: 'checking' } | { kind: 'ok'; health: Health } | { kind: 'error'; message: string; hint?: string };

export function useServerHealth(api: NnsamApi, intervalMs = 15_000): [HealthState, () => void] {
  const [state, setState] = useState<HealthState>({ kind: 'checking' });
  const generation = useRef(0);
  const check = useCallback(() => {
    const mine = ++generation.current;
    setState((s) => (s.kind === 'ok' ? s : { kind: 'checking' }));
    api.health().then(
      (health) => mine === generation.current && setState({ kind: 'ok', health }),
      (e: unknown) => mine === generation.current && setState({ kind: 'error', ...errorText(e) }),
    );
  }, [api]);
  useEffect(() => {
    check();
    const timer = setInterval(check, intervalMs);
    const answers = generation; // a bump on unmount drops answers still in flight
    return () => {
      answers.current++;
      clearInterval(timer);
    };
  }, [check, intervalMs]);
  return [state, check];
}

export function ServerStatusView(props: { state: HealthState; apiBaseUrl: string; onRetry: () => void }) {
  const { state } = props;
  return (
    <section className="nnsam-section" data-cy="nnsam-server-status" data-state={state.kind}>
      <div className="nnsam-section-header">
        <h2>nnSAM server</h2>
        <button type="button" className="nnsam-button" onClick={props.onRetry} data-cy="nnsam-server-retry">
          Check again
        </button>
      </div>
      {state.kind === 'checking' && (
        <div className="nnsam-row nnsam-muted">
          <span className="nnsam-dot" /> Checking {props.apiBaseUrl} …
        </div>
      )}
      {state.kind === 'ok' && (
        <div className="nnsam-row">
          <span className="nnsam-dot ok" />
          <span>
            Connected <span className="nnsam-muted">· version {state.health.version}</span>
          </span>
        </div>
      )}
      {state.kind === 'error' && (
        <>
          <div className="nnsam-row">
            <span className="nnsam-dot error" />
            <strong>Server unreachable</strong>
          </div>
          <div className="nnsam-error nnsam-small" role="alert">
            {state.message}
          </div>
          {state.hint && <div className="nnsam-hint nnsam-small">{state.hint}</div>}
        </>
      )}
    </section>
  );
}
