/**
 * The nnSAM side panel. Sections, top to bottom: 1 server status, 2 project and classes, 3 labelled slices
 * and the training set, 4 train, 5 segment. The state lives in the workflow (it outlives the panel when
 * OHIF switches tabs); the panel renders it and forwards clicks. A failed click is shown as an OHIF
 * notification (runReported) and in the section concerned.
 */
import { useEffect, useSyncExternalStore } from 'react';

import { PANEL_TEST_ID } from '../ids.js';
import { hasLabelledSlices, runReported, type Workflow } from '../workflow/workflow.js';
import { LabelledSlicesView } from './LabelledSlices.js';
import { ServerStatusView } from './ServerStatus.js';
import { ProjectSection, SegmentSection, TrainSection } from './sections.js';

export function NnsamPanel({ workflow }: { workflow: Workflow }) {
  const state = useSyncExternalStore(workflow.subscribe, workflow.getState);
  useEffect(() => workflow.attach(), [workflow]);

  const run = (title: string, action: () => unknown) => void runReported(workflow, title, action);
  const project = workflow.project;
  const info = state.server.kind === 'ok' ? state.server.info : null;
  const segmentAvailability = workflow.segmentAvailability();
  const trainReason = !project
    ? 'Create or choose a project first.'
    : !state.examples.length
      ? 'Add labelled slices first.'
      : !hasLabelledSlices(state.examples)
        ? 'Add labelled slices first: unlabelled series alone teach no class.'
        : undefined;

  return (
    <div className="nnsam-panel" data-cy={PANEL_TEST_ID}>
      <ServerStatusView
        state={state.server}
        apiBaseUrl={workflow.api.baseUrl}
        onRetry={() => run('nnSAM server', () => workflow.checkServer())}
      />
      <ProjectSection
        projects={state.projects}
        selectedId={state.projectId}
        error={state.projectsError}
        onSelect={(id) => run('nnSAM: cannot open the project', () => workflow.selectProject(id))}
        onCreate={(name, classes) =>
          run('nnSAM: cannot create the project', () => workflow.createProject(name, classes))
        }
        onStartLabelling={() => run('nnSAM: cannot start labelling', () => workflow.startLabelling())}
        onPickClass={(value) => run('nnSAM: cannot pick the class', () => workflow.selectClass(value))}
      />
      <LabelledSlicesView
        detected={state.detected}
        error={state.labelsError}
        onDetect={() => run('nnSAM: no labels to add', () => workflow.detect())}
        onAdd={
          project
            ? () => run('nnSAM: cannot add the labelled slices', () => workflow.addLabelledSlices())
            : undefined
        }
        onAddEmpty={
          project ? () => run('nnSAM: cannot add the slice', () => workflow.addEmptySlice()) : undefined
        }
        onAddUnlabelled={
          project
            ? () => run('nnSAM: cannot add the series', () => workflow.addSeriesUnlabelled())
            : undefined
        }
        adding={state.adding}
        selection={state.selection}
        onAddSeg={project ? (uid) => run('nnSAM: cannot add the SEG', () => workflow.addSeg(uid)) : undefined}
        examples={state.examples}
        classes={project?.classes}
        seriesName={(uid) => workflow.seriesName(uid)}
        onRemove={(id) => run('nnSAM: cannot remove the example', () => workflow.removeExample(id))}
      />
      <TrainSection
        job={state.train}
        curve={state.train?.curve ?? []}
        model={state.model}
        canTrain={!!project && hasLabelledSlices(state.examples)}
        reason={trainReason}
        defaultMinutes={workflow.config.training.minutes}
        defaultEncoder={workflow.config.training.encoder}
        encoders={info?.encoders}
        onTrain={(options) => run('nnSAM: cannot start training', () => workflow.train(options))}
        onCancel={() => run('nnSAM: cannot cancel training', () => workflow.cancelTraining())}
      />
      <SegmentSection
        job={state.segment}
        segments={state.segment?.shown?.segments ?? []}
        canSegment={!segmentAvailability.disabled}
        reason={segmentAvailability.disabled ? segmentAvailability.reason : undefined}
        onSegment={(scope) => run('nnSAM: segmentation failed', () => workflow.segment(scope))}
        onToggleSegment={(n) => run('nnSAM: cannot change the overlay', () => workflow.toggleSegment(n))}
        labelNext={state.segment?.shown?.labelNext}
        onJump={(uid) => run('nnSAM: cannot go to the slice', () => workflow.jumpToSlice(uid))}
        corrected={state.segment?.shown?.corrected}
      />
    </div>
  );
}
