/**
 * Section 3: "Add labelled slices". Reads the labelmap painted on the active series (the same code as the
 * `nnsam.collectLabelmap` command), shows which slices carry labels and which classes they hold.
 * TODO(issue 5): send the payload to the project's training set and list the training set (series,
 * slices, classes) with remove, through the API's examples endpoints.
 */
import type { LabelmapPayload } from '@nnsam/server/api';

export interface LabelledSlicesProps {
  payload: LabelmapPayload | null;
  error: { message: string; hint?: string } | null;
  onDetect: () => void;
  /** set when the API can take the labels; undefined disables the button */
  onSend?: (payload: LabelmapPayload) => void;
}

export function LabelledSlicesView(props: LabelledSlicesProps) {
  const { payload, error } = props;
  return (
    <section className="nnsam-section" data-cy="nnsam-labelled-slices">
      <div className="nnsam-section-header">
        <h2>Add labelled slices</h2>
        <button type="button" className="nnsam-button" onClick={props.onDetect} data-cy="nnsam-detect-labels">
          Detect
        </button>
      </div>
      {!payload && !error && (
        <div className="nnsam-muted nnsam-small">
          Paint a few slices of the active series with the Labelmap tools, then press Detect.
        </div>
      )}
      {error && (
        <>
          <div className="nnsam-error nnsam-small" role="alert">
            {error.message}
          </div>
          {error.hint && <div className="nnsam-hint nnsam-small">{error.hint}</div>}
        </>
      )}
      {payload && (
        <>
          <div className="nnsam-small" data-cy="nnsam-labelled-summary">
            {payload.slices.length} labelled slice{payload.slices.length === 1 ? '' : 's'} · {payload.columns}
            ×{payload.rows} · {(payload.segments ?? []).map((s) => s.label).join(', ') || 'no classes'}
          </div>
          <ul className="nnsam-list nnsam-small nnsam-muted">
            {payload.slices.map((s) => (
              <li key={`${s.sopInstanceUID}#${s.frameNumber ?? 0}`} title={s.sopInstanceUID}>
                <span>…{s.sopInstanceUID.slice(-18)}</span>
                {s.frameNumber && <span>frame {s.frameNumber}</span>}
              </li>
            ))}
          </ul>
          <div className="nnsam-row" style={{ marginTop: 8 }}>
            <button
              type="button"
              className="nnsam-button primary"
              disabled={!props.onSend}
              onClick={() => props.onSend?.(payload)}
            >
              Add to training set
            </button>
          </div>
          {!props.onSend && (
            <div className="nnsam-todo">Sending needs the nnSAM API (not connected yet).</div>
          )}
        </>
      )}
    </section>
  );
}
