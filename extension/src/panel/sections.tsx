/**
 * Panel sections 2, 4 and 5 as views fed by props: project and classes, training, segmentation. Their
 * shapes follow the HTTP contract's concepts (projects with classes, jobs with a state and progress,
 * training metrics, segmentation results) structurally, so the contract's types fit when it lands.
 * TODO(issue 5): NnsamPanel wires them to the API client (projects, training and segmentation jobs and
 * their event streams); until then the panel does not show them.
 */
import { useState } from 'react';

import { LossCurve, type CurvePoint } from './LossCurve.js';

export interface ClassView {
  value: number;
  name: string;
  color?: [number, number, number];
}

export interface ProjectView {
  id: string;
  name: string;
  classes: ClassView[];
}

export type JobStateView = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';

export interface JobView {
  state: JobStateView;
  progress?: { stage: string; done?: number; total?: number; message?: string } | null;
  error?: { message: string; hint?: string } | null;
}

const running = (job?: JobView | null) => job?.state === 'queued' || job?.state === 'running';
const rgb = (c?: [number, number, number]) =>
  c ? `rgb(${c[0]}, ${c[1]}, ${c[2]})` : 'hsl(var(--muted-foreground))';

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
    seen.add(n.toLowerCase());
  }
  return names.map((name, i) => ({ value: i + 1, name, color: CLASS_COLORS[i % CLASS_COLORS.length] }));
}

export function ProjectSection(props: {
  projects: ProjectView[];
  selectedId: string | null;
  onSelect: (id: string) => void;
  onCreate: (name: string, classes: ClassView[]) => void;
}) {
  const [name, setName] = useState('');
  const [classes, setClasses] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const selected = props.projects.find((p) => p.id === props.selectedId);
  const create = () => {
    try {
      const parsed = parseClassNames(classes);
      if (!name.trim()) throw new Error('Give the project a name.');
      if (!parsed.length) throw new Error('List at least one class, e.g. "Liver, Spleen".');
      setProblem(null);
      props.onCreate(name.trim(), parsed);
    } catch (e) {
      setProblem((e as Error).message);
    }
  };
  return (
    <section className="nnsam-section" data-cy="nnsam-project">
      <div className="nnsam-section-header">
        <h2>Project</h2>
      </div>
      {props.projects.length > 0 && (
        <select
          className="nnsam-button"
          style={{ width: '100%' }}
          value={props.selectedId ?? ''}
          onChange={(e) => props.onSelect(e.target.value)}
        >
          {props.projects.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
      )}
      {selected && (
        <ul className="nnsam-list nnsam-small">
          {selected.classes.map((c) => (
            <li key={c.value}>
              <span className="nnsam-row">
                <span className="nnsam-swatch" style={{ background: rgb(c.color) }} />
                {c.name}
              </span>
              <span className="nnsam-muted">{c.value}</span>
            </li>
          ))}
        </ul>
      )}
      <div className="nnsam-small" style={{ marginTop: 8, display: 'grid', gap: 4 }}>
        <input placeholder="New project name" value={name} onChange={(e) => setName(e.target.value)} />
        <input
          placeholder="Classes, e.g. Liver, Spleen"
          value={classes}
          onChange={(e) => setClasses(e.target.value)}
        />
        <button type="button" className="nnsam-button" onClick={create}>
          Create project
        </button>
        {problem && (
          <div className="nnsam-error" role="alert">
            {problem}
          </div>
        )}
      </div>
    </section>
  );
}

function ProgressLine({ job }: { job: JobView }) {
  const p = job.progress;
  const fraction = p?.total ? Math.min(1, (p.done ?? 0) / p.total) : undefined;
  return (
    <>
      <div className="nnsam-small nnsam-muted">
        {job.state === 'queued'
          ? 'Waiting for a worker…'
          : `${p?.stage ?? job.state}${p?.message ? ` · ${p.message}` : ''}`}
        {fraction !== undefined && ` · ${Math.round(fraction * 100)}%`}
      </div>
      <div
        className="nnsam-progress"
        role="progressbar"
        aria-valuenow={fraction === undefined ? undefined : Math.round(fraction * 100)}
      >
        <div style={{ width: `${Math.round((fraction ?? 0) * 100)}%` }} />
      </div>
    </>
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

export function TrainSection(props: {
  job: JobView | null;
  curve: CurvePoint[];
  model: { id: string; metrics?: Record<string, number> } | null;
  canTrain: boolean;
  onTrain: () => void;
  onCancel: () => void;
}) {
  const { job } = props;
  return (
    <section className="nnsam-section" data-cy="nnsam-train">
      <div className="nnsam-section-header">
        <h2>Train</h2>
        {running(job) ? (
          <button type="button" className="nnsam-button" onClick={props.onCancel}>
            Cancel
          </button>
        ) : (
          <button
            type="button"
            className="nnsam-button primary"
            disabled={!props.canTrain}
            onClick={props.onTrain}
          >
            Train
          </button>
        )}
      </div>
      {job && running(job) && <ProgressLine job={job} />}
      {(running(job) || props.curve.length > 0) && <LossCurve points={props.curve} />}
      <JobError job={job} />
      {job?.state === 'cancelled' && <div className="nnsam-small nnsam-muted">Training cancelled.</div>}
      {props.model && (
        <div className="nnsam-small" data-cy="nnsam-model">
          Model <span className="nnsam-muted">{props.model.id}</span>
          {Object.entries(props.model.metrics ?? {}).map(([k, v]) => (
            <span key={k} className="nnsam-muted">
              {' '}
              · {k} {v.toFixed(3)}
            </span>
          ))}
        </div>
      )}
    </section>
  );
}

export function SegmentSection(props: {
  job: JobView | null;
  segments: Array<{ number: number; label: string; color?: [number, number, number]; visible: boolean }>;
  canSegment: boolean;
  onSegment: (scope: 'series' | 'study') => void;
  onToggleSegment: (number: number) => void;
}) {
  const { job } = props;
  return (
    <section className="nnsam-section" data-cy="nnsam-segment">
      <div className="nnsam-section-header">
        <h2>Segment</h2>
        <span className="nnsam-row">
          <button
            type="button"
            className="nnsam-button primary"
            disabled={!props.canSegment || running(job)}
            onClick={() => props.onSegment('series')}
          >
            This series
          </button>
          <button
            type="button"
            className="nnsam-button"
            disabled={!props.canSegment || running(job)}
            onClick={() => props.onSegment('study')}
          >
            Whole study
          </button>
        </span>
      </div>
      {job && running(job) && <ProgressLine job={job} />}
      <JobError job={job} />
      {props.segments.length > 0 && (
        <ul className="nnsam-list nnsam-small">
          {props.segments.map((s) => (
            <li key={s.number}>
              <span className="nnsam-row">
                <span className="nnsam-swatch" style={{ background: rgb(s.color) }} />
                {s.label}
              </span>
              <button
                type="button"
                className="nnsam-button"
                onClick={() => props.onToggleSegment(s.number)}
                aria-pressed={s.visible}
              >
                {s.visible ? 'Hide' : 'Show'}
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
