/**
 * The nnSAM side panel. Sections, top to bottom: 1 server status, 2 project and classes, 3 labelled slices
 * and the training set, 4 train, 5 segment. Each section's state lives in its store in the workflow (it
 * outlives the panel when OHIF switches tabs); the panel renders it and forwards clicks. A failed click is
 * shown as an OHIF notification (runReported) and in the section concerned.
 */
import { useEffect, useSyncExternalStore } from 'react';

import { PANEL_TEST_ID } from '../ids.js';
import { hasLabelledSlices } from '../workflow/labels.js';
import type { Store } from '../workflow/store.js';
import { runReported, type Workflow } from '../workflow/workflow.js';
import { LabelledSlicesView } from './LabelledSlices.js';
import { ServerStatusView } from './ServerStatus.js';
import { ProjectSection, SegmentSection, TrainSection } from './sections.js';

function useStore<S extends object>(store: Store<S>): S {
  return useSyncExternalStore(store.subscribe, store.getState);
}

export function NnsamPanel({ workflow }: { workflow: Workflow }) {
  const { status } = useStore(workflow.server);
  const { projects, projectId, error: projectsError } = useStore(workflow.projects);
  const labels = useStore(workflow.labels);
  const training = useStore(workflow.training);
  const { run: segment } = useStore(workflow.segmentation);
  const { selection } = useStore(workflow.selection);
  useEffect(() => workflow.attach(), [workflow]);

  const run = (title: string, action: () => unknown) => void runReported(workflow, title, action);
  const project = workflow.projects.project;
  const info = status.kind === 'ok' ? status.info : null;
  const segmentAvailability = workflow.segmentation.availability();
  const trainReason = !project
    ? 'Create or choose a project first.'
    : !labels.examples.length
      ? 'Add labelled slices first.'
      : !hasLabelledSlices(labels.examples)
        ? 'Add labelled slices first: unlabelled series alone teach no class.'
        : undefined;

  return (
    <div className="nnsam-panel" data-cy={PANEL_TEST_ID}>
      <ServerStatusView
        state={status}
        apiBaseUrl={workflow.api.baseUrl}
        onRetry={() => run('nnSAM server', () => workflow.server.check())}
      />
      <ProjectSection
        projects={projects}
        selectedId={projectId}
        error={projectsError}
        onSelect={(id) => run('nnSAM: cannot open the project', () => workflow.projects.select(id))}
        onCreate={(name, classes) =>
          run('nnSAM: cannot create the project', () => workflow.projects.create(name, classes))
        }
        onStartLabelling={() => run('nnSAM: cannot start labelling', () => workflow.classes.startLabelling())}
        onPickClass={(value) =>
          run('nnSAM: cannot pick the class', () => workflow.classes.selectClass(value))
        }
      />
      <LabelledSlicesView
        detected={labels.detected}
        error={labels.error}
        onDetect={() => run('nnSAM: no labels to add', () => workflow.labels.detect())}
        onAdd={
          project
            ? () => run('nnSAM: cannot add the labelled slices', () => workflow.labels.addLabelledSlices())
            : undefined
        }
        onAddEmpty={
          project
            ? () => run('nnSAM: cannot add the slice', () => workflow.labels.addEmptySlice())
            : undefined
        }
        onAddUnlabelled={
          project
            ? () => run('nnSAM: cannot add the series', () => workflow.labels.addSeriesUnlabelled())
            : undefined
        }
        adding={labels.adding}
        selection={selection}
        onAddSeg={
          project ? (uid) => run('nnSAM: cannot add the SEG', () => workflow.labels.addSeg(uid)) : undefined
        }
        examples={labels.examples}
        classes={project?.classes}
        seriesName={(uid) => workflow.selection.seriesName(uid)}
        onRemove={(id) => run('nnSAM: cannot remove the example', () => workflow.labels.removeExample(id))}
      />
      <TrainSection
        job={training.run}
        curve={training.run?.curve ?? []}
        model={training.model}
        canTrain={!!project && hasLabelledSlices(labels.examples)}
        reason={trainReason}
        defaultMinutes={workflow.config.training.minutes}
        defaultEncoder={workflow.config.training.encoder}
        encoders={info?.encoders}
        onTrain={(options) => run('nnSAM: cannot start training', () => workflow.training.train(options))}
        onCancel={() => run('nnSAM: cannot cancel training', () => workflow.training.cancel())}
      />
      <SegmentSection
        job={segment}
        segments={segment?.shown?.segments ?? []}
        canSegment={!segmentAvailability.disabled}
        reason={segmentAvailability.disabled ? segmentAvailability.reason : undefined}
        onSegment={(scope) => run('nnSAM: segmentation failed', () => workflow.segmentation.segment(scope))}
        onToggleSegment={(number) =>
          run('nnSAM: cannot change the overlay', () => workflow.segmentation.toggleSegment(number))
        }
        labelNext={segment?.shown?.labelNext}
        onJump={(uid) => run('nnSAM: cannot go to the slice', () => workflow.segmentation.jumpToSlice(uid))}
        corrected={segment?.shown?.corrected}
      />
    </div>
  );
}
