/**
 * Section 1: is the nnSAM server reachable, on which device it computes, and whether the MobileSAM encoder
 * weights are there (or how to add them). Failures are shown plainly, with what to do.
 */
import type { Info } from '@nnsam/server/api';

import type { ServerState } from '../workflow/server.js';

export function deviceText(info: Info): string {
  const { devices } = info;
  if (devices.cuda && devices.gpus.length) return `GPU ${devices.gpus.join(', ')}`;
  return `CPU, ${devices.cpuThreads} thread${devices.cpuThreads === 1 ? '' : 's'}`;
}

function EncoderLine({ info }: { info: Info }) {
  const mobileSam = info.encoders.find((e) => e.id === 'mobilesam');
  if (info.mobileSam.configured && mobileSam?.available !== false) {
    return (
      <div className="nnsam-small" data-cy="nnsam-encoder" data-available="true">
        <span className="nnsam-dot ok" style={{ display: 'inline-block', marginRight: 6 }} />
        MobileSAM encoder weights present
      </div>
    );
  }
  return (
    <div className="nnsam-small" data-cy="nnsam-encoder" data-available="false">
      <div>
        <span className="nnsam-dot warn" style={{ display: 'inline-block', marginRight: 6 }} />
        No MobileSAM weights: training uses nnU-Net alone
      </div>
      <div className="nnsam-hint">
        {mobileSam?.hint ??
          'To add them, set NNSAM_MOBILESAM_CHECKPOINT (mobile_sam.pt) or NNSAM_MOBILESAM_ONNX on the server and restart it.'}
      </div>
    </div>
  );
}

export function ServerStatusView(props: { state: ServerState; apiBaseUrl: string; onRetry: () => void }) {
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
        <>
          <div className="nnsam-row">
            <span className="nnsam-dot ok" />
            <span>
              Connected <span className="nnsam-muted">· version {state.health.version}</span>
              {state.info && (
                <span className="nnsam-muted" data-cy="nnsam-device">
                  {' '}
                  · {deviceText(state.info)}
                </span>
              )}
            </span>
          </div>
          {state.info && <EncoderLine info={state.info} />}
          {state.infoError && (
            <>
              <div className="nnsam-error nnsam-small" role="alert">
                {state.infoError.message}
              </div>
              {state.infoError.hint && <div className="nnsam-hint nnsam-small">{state.infoError.hint}</div>}
            </>
          )}
        </>
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
