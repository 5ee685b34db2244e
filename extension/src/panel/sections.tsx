/**
 * Panel sections 2, 4 and 5 as views fed by props: project and classes, training, segmentation. The
 * panel (NnsamPanel.tsx) feeds them from the workflow; the views hold only the state of their own inputs.
 */
import type { JobProgress, JobState } from '@nnsam/server/api';
import { DEFAULT_TRAIN_MINUTES, RETRAIN_BUDGET_FRACTION } from '@nnsam/server/api/training-budget';
import { useState } from 'react';

import { LossCurve, type CurvePoint } from './LossCurve.js';
import { rgb } from './styles.js';

export interface ClassView {
  value: number;
  name: string;
  color?: [number, number, number];
}

export interface ProjectView {
  id: string;
  name: string;
  classes: ClassView[];
  latestModelId?: string | null;
}

export interface JobView {
  state: JobState | 'starting';
  progress?: JobProgress | null;
  /** 0..1, when known */
  fraction?: number | null;
  error?: { message: string; hint?: string } | null;
}

const running = (job?: JobView | null) => !!job && ['starting', 'queued', 'running'].includes(job.state);

/** Default colours for new classes, after OHIF's own segment palette order (red, green, blue, ...). */
export const CLASS_COLORS: Array<[number, number, number]> = [
  [221, 84, 84],
  [77, 228, 121],
  [166, 70, 235],
  [189, 180, 116],
  [109, 182, 196],
  [204, 101, 157],
];

/** "Liver, Spleen" -> classes 1, 2 with default colours; blank names dropped, duplicates refused. */
export function parseClassNames(text: string): ClassView[] {
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n.toLowerCase())) throw new Error(`The class "${n}" is listed twice.`);
    if (n.length > 64) throw new Error(`The class name "${n.slice(0, 20)}…" is longer than 64 characters.`);
    seen.add(n.toLowerCase());
  }
  if (names.length > 255) throw new Error('At most 255 classes.');
  return names.map((name, i) => ({ value: i + 1, name, color: CLASS_COLORS[i % CLASS_COLORS.length] }));
}

export function ProjectSection(props: {
  projects: ProjectView[];
  selectedId: string | null;
  onSelect: (id: string) => void;
  onCreate: (name: string, classes: ClassView[]) => void;
  /** creates a labelmap whose segments are the classes; undefined hides the button */
  onStartLabelling?: () => void;
  /** picks the class the brush paints with */
  onPickClass?: (value: number) => void;
  error?: { message: string; hint?: string } | null;
}) {
  const [name, setName] = useState('');
  const [classes, setClasses] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [creating, setCreating] = useState(props.projects.length === 0);
  const selected = props.projects.find((p) => p.id === props.selectedId);
  const create = () => {
    try {
      const parsed = parseClassNames(classes);
      if (!name.trim()) throw new Error('Give the project a name.');
      if (!parsed.length) throw new Error('List at least one class, e.g. "Liver, Spleen".');
      setProblem(null);
      props.onCreate(name.trim(), parsed);
      setName('');
      setClasses('');
      setCreating(false);
    } catch (e) {
      setProblem((e as Error).message);
    }
  };
  return (
    <section className="nnsam-section" data-cy="nnsam-project">
      <div className="nnsam-section-header">
        <h2>Project</h2>
        <span className="nnsam-row">
          {selected && props.onStartLabelling && (
            <button
              type="button"
              className="nnsam-button primary"
              onClick={props.onStartLabelling}
              data-cy="nnsam-start-labelling"
              title="New labelmap on the active series with the project's classes as segments"
            >
              Start labelling
            </button>
          )}
          <button
            type="button"
            className="nnsam-button"
            onClick={() => setCreating(!creating)}
            data-cy="nnsam-new-project"
            aria-expanded={creating}
          >
            New
          </button>
        </span>
      </div>
      {props.projects.length > 0 && (
        <select
          className="nnsam-button"
          style={{ width: '100%' }}
          value={props.selectedId ?? ''}
          onChange={(e) => props.onSelect(e.target.value)}
          data-cy="nnsam-project-select"
        >
          {props.projects.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
      )}
      {props.error && (
        <div className="nnsam-error nnsam-small" role="alert">
          {props.error.message}
        </div>
      )}
      {selected && (
        <ul className="nnsam-list nnsam-small" data-cy="nnsam-classes">
          {selected.classes.map((c) => (
            <li key={c.value}>
              <button
                type="button"
                className="nnsam-link nnsam-row"
                onClick={() => props.onPickClass?.(c.value)}
                title="Paint with this class"
              >
                <span className="nnsam-swatch" style={{ background: rgb(c.color) }} />
                {c.name}
              </button>
              <span className="nnsam-muted">{c.value}</span>
            </li>
          ))}
        </ul>
      )}
      {creating && (
        <div
          className="nnsam-small"
          style={{ marginTop: 8, display: 'grid', gap: 4 }}
          data-cy="nnsam-project-form"
        >
          <input
            placeholder="New project name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            data-cy="nnsam-project-name"
          />
          <input
            placeholder="Classes, e.g. Liver, Spleen"
            value={classes}
            onChange={(e) => setClasses(e.target.value)}
            data-cy="nnsam-project-classes"
          />
          <button type="button" className="nnsam-button" onClick={create} data-cy="nnsam-create-project">
            Create project
          </button>
          {problem && (
            <div className="nnsam-error" role="alert">
              {problem}
            </div>
          )}
        </div>
      )}
    </section>
  );
}

function ProgressLine({ job, label }: { job: JobView; label?: string }) {
  const p = job.progress;
  const fraction =
    typeof job.fraction === 'number'
      ? job.fraction
      : p?.total
        ? Math.min(1, (p.done ?? 0) / p.total)
        : undefined;
  const percent = fraction === undefined ? undefined : Math.round(fraction * 100);
  const what =
    job.state === 'starting'
      ? 'Sending…'
      : job.state === 'queued'
        ? 'Waiting for a worker…'
        : (p?.stage ?? job.state);
  return (
    <div data-cy="nnsam-progress" data-stage={p?.stage ?? job.state} data-percent={percent ?? ''}>
      <div className="nnsam-small nnsam-muted">
        {label ? `${label} · ` : ''}
        {what}
        {p?.message && job.state === 'running' ? ` · ${p.message}` : ''}
        {percent !== undefined && ` · ${percent}%`}
      </div>
      <div
        className="nnsam-progress"
        role="progressbar"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
      >
        <div style={{ width: `${percent ?? 0}%` }} />
      </div>
    </div>
  );
}

function JobError({ job }: { job?: JobView | null }) {
  if (!job?.error) return null;
  return (
    <>
      <div className="nnsam-error nnsam-small" role="alert">
        {job.error.message}
      </div>
      {job.error.hint && <div className="nnsam-hint nnsam-small">{job.error.hint}</div>}
    </>
  );
}

const METRIC_NAMES: Record<string, (v: number) => string> = {
  bestValDice: (v) => `val Dice ${v.toFixed(3)}`,
  iterations: (v) => `${v} iterations`,
  seconds: (v) => `${Math.round(v)} s`,
};

const numberIn = (metrics: Record<string, unknown>, key: string): number | undefined => {
  const v = metrics[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
};

/**
 * What the model learnt from, in one phrase: "20 labelled (2 held out) + 176 unlabelled slices". Models
 * from before unlabelled learning record no unlabelledSlices and say only how many slices were labelled.
 */
function slicesText(metrics: Record<string, unknown>): string | undefined {
  const train = numberIn(metrics, 'trainSlices');
  if (train === undefined) return undefined;
  const heldOut = numberIn(metrics, 'valSlices') ?? 0;
  const unlabelled = numberIn(metrics, 'unlabelledSlices');
  const labelled = `${train + heldOut} labelled${heldOut ? ` (${heldOut} held out)` : ''}`;
  return unlabelled === undefined ? `${labelled} slices` : `${labelled} + ${unlabelled} unlabelled slices`;
}

export function modelMetricsText(metrics: Record<string, unknown>): string[] {
  const named = Object.entries(METRIC_NAMES).flatMap(([k, format]) => {
    const v = numberIn(metrics, k);
    return v === undefined ? [] : [format(v)];
  });
  const slices = slicesText(metrics);
  // a retrain that started from the project's previous model (warm start) says so
  const warm = typeof metrics.warmStartFrom === 'string' ? ['continued from the previous model'] : [];
  return [...named, ...(slices ? [slices] : []), ...warm];
}

/** A warm retrain's budget: RETRAIN_BUDGET_FRACTION of the first, to the tenth of a minute. */
export function retrainMinutes(firstMinutes: number): number {
  return Math.max(0.1, Math.round(firstMinutes * RETRAIN_BUDGET_FRACTION * 10) / 10);
}

export function TrainSection(props: {
  job: JobView | null;
  curve: CurvePoint[];
  model: { id: string; name?: string; metrics?: Record<string, unknown>; encoder?: string } | null;
  canTrain: boolean;
  /** why training is off, shown under the button */
  reason?: string;
  defaultMinutes?: number;
  encoders?: Array<{ id: string; available: boolean; description?: string }>;
  defaultEncoder?: string;
  onTrain: (options: { minutes: number; encoder: string }) => void;
  onCancel: () => void;
}) {
  const { job } = props;
  // until the user types a budget, a retrain (the project has a model to start from) suggests the shorter one
  const [typedMinutes, setMinutes] = useState<string | null>(null);
  const firstMinutes = props.defaultMinutes ?? DEFAULT_TRAIN_MINUTES;
  const minutes = typedMinutes ?? String(props.model ? retrainMinutes(firstMinutes) : firstMinutes);
  const [encoder, setEncoder] = useState(props.defaultEncoder ?? 'auto');
  const minutesValue = Number(minutes);
  const minutesOk = Number.isFinite(minutesValue) && minutesValue > 0 && minutesValue <= 24 * 60;
  const choices = [
    { id: 'auto', label: 'auto' },
    ...(props.encoders ?? []).map((e) => ({ id: e.id, label: e.available ? e.id : `${e.id} (unavailable)` })),
  ];
  return (
    <section className="nnsam-section" data-cy="nnsam-train" data-state={job?.state ?? 'idle'}>
      <div className="nnsam-section-header">
        <h2>Train</h2>
        {running(job) ? (
          <button
            type="button"
            className="nnsam-button"
            onClick={props.onCancel}
            data-cy="nnsam-cancel-training"
          >
            Cancel
          </button>
        ) : (
          <button
            type="button"
            className="nnsam-button primary"
            disabled={!props.canTrain || !minutesOk}
            onClick={() => props.onTrain({ minutes: minutesValue, encoder })}
            data-cy="nnsam-train-button"
          >
            Train
          </button>
        )}
      </div>
      {!running(job) && (
        <div className="nnsam-row nnsam-small" style={{ flexWrap: 'wrap' }}>
          <label className="nnsam-row">
            Budget
            <input
              type="number"
              min={0.1}
              step={0.5}
              value={minutes}
              onChange={(e) => setMinutes(e.target.value)}
              style={{ width: 56 }}
              data-cy="nnsam-train-minutes"
            />
            min
          </label>
          <label className="nnsam-row">
            Encoder
            <select
              value={encoder}
              onChange={(e) => setEncoder(e.target.value)}
              data-cy="nnsam-train-encoder"
            >
              {choices.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.label}
                </option>
              ))}
            </select>
          </label>
        </div>
      )}
      {props.reason && !running(job) && <div className="nnsam-hint nnsam-small">{props.reason}</div>}
      {job && running(job) && <ProgressLine job={job} />}
      {(running(job) || props.curve.length > 0) && <LossCurve points={props.curve} />}
      <JobError job={job} />
      {job?.state === 'cancelled' && <div className="nnsam-small nnsam-muted">Training cancelled.</div>}
      {props.model && (
        <div className="nnsam-small" data-cy="nnsam-model" data-model-id={props.model.id}>
          Model <span title={props.model.id}>{props.model.name ?? props.model.id}</span>
          {modelMetricsText(props.model.metrics ?? {}).map((text) => (
            <span key={text} className="nnsam-muted">
              {' '}
              · {text}
            </span>
          ))}
          {props.model.encoder && <span className="nnsam-muted"> · encoder {props.model.encoder}</span>}
        </div>
      )}
    </section>
  );
}

export function SegmentSection(props: {
  job: (JobView & { done?: number; total?: number }) | null;
  segments: Array<{ number: number; label: string; color?: [number, number, number]; visible: boolean }>;
  canSegment: boolean;
  reason?: string;
  onSegment: (scope: 'series' | 'study') => void;
  onToggleSegment: (number: number) => void;
  /** The slices the model is least sure of (the result's uncertainty), worst first */
  labelNext?: Array<{ index: number; sopInstanceUID: string; score: number }>;
  onJump?: (sopInstanceUID: string) => void;
  /** Slices of the result the user changed with OHIF's tools, not yet added */
  corrected?: Array<{ sopInstanceUID: string; instanceNumber: number | null }>;
}) {
  const { job } = props;
  const label =
    job?.total && job.total > 1
      ? `series ${Math.min((job.done ?? 0) + 1, job.total)} of ${job.total}`
      : undefined;
  return (
    <section className="nnsam-section" data-cy="nnsam-segment" data-state={job?.state ?? 'idle'}>
      <div className="nnsam-section-header">
        <h2>Segment</h2>
        <span className="nnsam-row">
          <button
            type="button"
            className="nnsam-button primary"
            disabled={!props.canSegment || running(job)}
            onClick={() => props.onSegment('series')}
            data-cy="nnsam-segment-series"
          >
            This series
          </button>
          <button
            type="button"
            className="nnsam-button"
            disabled={!props.canSegment || running(job)}
            onClick={() => props.onSegment('study')}
            data-cy="nnsam-segment-study"
          >
            Whole study
          </button>
        </span>
      </div>
      {props.reason && !running(job) && <div className="nnsam-hint nnsam-small">{props.reason}</div>}
      {job && running(job) && <ProgressLine job={job} label={label} />}
      <JobError job={job} />
      {props.segments.length > 0 && (
        <ul className="nnsam-list nnsam-small" data-cy="nnsam-segments">
          {props.segments.map((s) => (
            <li key={s.number} data-cy="nnsam-result-segment" data-segment={s.number}>
              <span className="nnsam-row">
                <span className="nnsam-swatch" style={{ background: rgb(s.color) }} />
                {s.label}
              </span>
              <button
                type="button"
                className="nnsam-button"
                onClick={() => props.onToggleSegment(s.number)}
                aria-pressed={s.visible}
                data-cy="nnsam-toggle-segment"
              >
                {s.visible ? 'Hide' : 'Show'}
              </button>
            </li>
          ))}
        </ul>
      )}
      {props.labelNext && props.labelNext.length > 0 && (
        <div data-cy="nnsam-label-next">
          <div className="nnsam-muted nnsam-small">Label next: the slices the model is least sure of</div>
          <ol className="nnsam-list nnsam-small">
            {props.labelNext.map((s) => (
              <li key={s.sopInstanceUID} data-cy="nnsam-label-next-slice" data-slice={s.index}>
                <span>
                  slice {s.index + 1} · {Math.round(s.score * 100)} % unsure
                </span>
                <button
                  type="button"
                  className="nnsam-button"
                  onClick={() => props.onJump?.(s.sopInstanceUID)}
                  data-cy="nnsam-label-next-go"
                >
                  Go
                </button>
              </li>
            ))}
          </ol>
          <div className="nnsam-muted nnsam-small">
            Correct a slice with OHIF&apos;s brush on the result, then &quot;Add labelled slices&quot; takes
            the corrected slices only, and Train again.
          </div>
        </div>
      )}
      {props.corrected && props.corrected.length > 0 && (
        <div
          className="nnsam-small"
          data-cy="nnsam-corrected"
          data-sop-instance-uids={props.corrected.map((s) => s.sopInstanceUID).join(',')}
          title="Instance numbers, as OHIF's viewport shows them (I:n)"
        >
          {`Corrected: ${props.corrected.length} slice${props.corrected.length === 1 ? '' : 's'} (${props.corrected
            .map((s) => (s.instanceNumber === null ? '?' : `I:${s.instanceNumber}`))
            .join(', ')}) · not yet added ("Add labelled slices")`}
        </div>
      )}
    </section>
  );
}
