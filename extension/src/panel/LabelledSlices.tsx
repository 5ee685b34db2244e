/**
 * Section 3: "Add labelled slices". Sends the labelmap painted on the active series (only the slices that
 * carry labels; `nnsam.collectLabelmap`; on an nnSAM result being corrected, only the slices the user
 * changed), a SEG loaded in the viewer, or the series itself unlabelled to the
 * project's training set, and lists the training set (series, slices, classes) with a remove button per
 * example.
 */
import type { ClassDef, Example, LabelmapPayload } from '@nnsam/server/api';
import type { ReactNode } from 'react';

import type { ErrorText } from '../errors.js';
import type { ViewerSelection } from '../workflow/selection.js';
import { rgb } from './styles.js';

export interface LabelledSlicesProps {
  detected: LabelmapPayload | null;
  error: ErrorText | null;
  onDetect: () => void;
  /** undefined: no project selected (the button stays off) */
  onAdd?: () => void;
  /** "None here": the slice on screen shows none of the classes (undefined: no project) */
  onAddEmpty?: () => void;
  /** The series on screen without labels, for its images only (undefined: no project) */
  onAddUnlabelled?: () => void;
  adding?: boolean;
  selection?: ViewerSelection | null;
  onAddSeg?: (segSeriesInstanceUID: string) => void;
  examples?: Example[];
  classes?: ClassDef[];
  seriesName?: (seriesInstanceUID: string) => string;
  onRemove?: (exampleId: string) => void;
}

/** One way to add to the training set: off without a project (no handler) and while an example is sent. */
function AddButton(props: {
  onClick?: () => void;
  adding?: boolean;
  cy: string;
  title: string;
  primary?: boolean;
  children: ReactNode;
}) {
  return (
    <button
      type="button"
      className={props.primary ? 'nnsam-button primary' : 'nnsam-button'}
      style={{ width: '100%', marginBottom: 6 }}
      disabled={!props.onClick || props.adding}
      onClick={props.onClick}
      data-cy={props.cy}
      title={props.onClick ? props.title : 'Select a project first'}
    >
      {props.children}
    </button>
  );
}

export function LabelledSlicesView(props: LabelledSlicesProps) {
  const { detected, error } = props;
  const examples = props.examples ?? [];
  const classOf = (value: number) => props.classes?.find((c) => c.value === value);
  const unlabelled = examples.filter((e) => e.sourceKind === 'image').length;
  return (
    <section className="nnsam-section" data-cy="nnsam-labelled-slices">
      <div className="nnsam-section-header">
        <h2>Labelled slices</h2>
        <button
          type="button"
          className="nnsam-button"
          onClick={props.onDetect}
          data-cy="nnsam-detect-labels"
          title="Show which slices of the active series carry labels, without sending them"
        >
          Check
        </button>
      </div>
      <AddButton
        primary
        onClick={props.onAdd}
        adding={props.adding}
        cy="nnsam-add-labels"
        title="Send the labelled slices of the active series to the training set (of an nnSAM result: the slices you corrected)"
      >
        {props.adding ? 'Adding…' : 'Add labelled slices'}
      </AddButton>
      <AddButton
        onClick={props.onAddEmpty}
        adding={props.adding}
        cy="nnsam-add-empty-slice"
        title="The slice on screen shows none of the classes: add it so the model learns where they are not"
      >
        None of the classes on this slice
      </AddButton>
      <AddButton
        onClick={props.onAddUnlabelled}
        adding={props.adding}
        cy="nnsam-add-unlabelled-series"
        title="Add the series on screen without labels (say, the one you will segment): training that learns from unlabelled slices uses its images"
      >
        Add this series unlabelled
      </AddButton>
      {!detected && !error && !examples.length && (
        <div className="nnsam-muted nnsam-small">
          Paint a few slices of the active series (Start labelling, then OHIF&apos;s brush), then add them.
          Only the slices that carry labels are sent; on an nnSAM result, only the slices you corrected.
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
      {detected && (
        <div className="nnsam-small" data-cy="nnsam-labelled-summary">
          {detected.slices.length} labelled slice{detected.slices.length === 1 ? '' : 's'} ·{' '}
          {detected.columns}×{detected.rows} ·{' '}
          {(detected.segments ?? []).map((s) => s.label).join(', ') || 'no classes'}
        </div>
      )}
      {props.onAddSeg && (props.selection?.segs.length ?? 0) > 0 && (
        <div className="nnsam-small" style={{ marginTop: 6 }} data-cy="nnsam-seg-sources">
          <span className="nnsam-muted">Or add a SEG of this series: </span>
          {props.selection!.segs.map((s) => (
            <button
              key={s.seriesInstanceUID}
              type="button"
              className="nnsam-button"
              style={{ margin: '2px 4px 0 0' }}
              disabled={props.adding}
              onClick={() => props.onAddSeg!(s.seriesInstanceUID)}
              title={s.seriesInstanceUID}
            >
              {s.description}
            </button>
          ))}
        </div>
      )}
      {examples.length > 0 && (
        <>
          <div className="nnsam-small nnsam-muted" style={{ marginTop: 8 }}>
            Training set: {new Set(examples.map((e) => e.seriesInstanceUID)).size} series
            {unlabelled > 0 && ` (${unlabelled} unlabelled)`},{' '}
            {examples.reduce((n, e) => n + e.labelledSlices.length, 0)} slices
          </div>
          <ul className="nnsam-list nnsam-small" data-cy="nnsam-training-set">
            {examples.map((e) => (
              <li key={e.id} data-cy="nnsam-example" data-example-id={e.id}>
                <span style={{ minWidth: 0 }}>
                  <div title={e.seriesInstanceUID}>
                    {props.seriesName?.(e.seriesInstanceUID) ?? `…${e.seriesInstanceUID.slice(-10)}`}
                    {e.sourceKind === 'seg' && <span className="nnsam-muted"> · SEG</span>}
                  </div>
                  {e.sourceKind === 'image' ? (
                    <div className="nnsam-muted">unlabelled (images only)</div>
                  ) : (
                    <>
                      <div className="nnsam-muted">
                        {e.labelledSlices.length} slice{e.labelledSlices.length === 1 ? '' : 's'} (
                        {e.labelledSlices.map((k) => k + 1).join(', ')})
                      </div>
                      <div className="nnsam-row" style={{ flexWrap: 'wrap' }}>
                        {e.classesPresent.length === 0 && (
                          <span className="nnsam-muted">none of the classes</span>
                        )}
                        {e.classesPresent.map((v) => (
                          <span key={v} className="nnsam-row" style={{ gap: 3 }}>
                            <span className="nnsam-swatch" style={{ background: rgb(classOf(v)?.color) }} />
                            {classOf(v)?.name ?? `class ${v}`}
                          </span>
                        ))}
                      </div>
                    </>
                  )}
                </span>
                {props.onRemove && (
                  <button
                    type="button"
                    className="nnsam-button"
                    onClick={() => props.onRemove!(e.id)}
                    aria-label={`Remove ${e.id}`}
                    data-cy="nnsam-remove-example"
                  >
                    Remove
                  </button>
                )}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
