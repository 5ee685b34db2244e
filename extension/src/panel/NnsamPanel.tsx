/**
 * The nnSAM side panel. Sections, top to bottom: 1 server status, 2 project and classes, 3 labelled slices
 * and the training set, 4 train, 5 segment. Each section's state lives in its store in the workflow (it
 * outlives the panel when OHIF switches tabs); the panel renders it and runs a command per click. A failed
 * command is shown as an OHIF notification by the command and in the section concerned by its store.
 */
import { useEffect, useSyncExternalStore } from 'react';

import { runCommand, type CommandArgs, type CommandId } from '../commands.js';
import { COMMANDS, PANEL_TEST_ID } from '../ids.js';
import { hasLabelledSlices } from '../workflow/labels.js';
import type { Store } from '../workflow/store.js';
import type { Workflow } from '../workflow/workflow.js';
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

  // the command has shown its failure (notification) and the store its section's: nothing left to do here
  const run = <K extends CommandId>(id: K, args: CommandArgs<K>) =>
    void runCommand(workflow.ctx.commandsManager, id, args).catch(() => undefined);
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
        onRetry={() => run(COMMANDS.checkServer, {})}
      />
      <ProjectSection
        projects={projects}
        selectedId={projectId}
        error={projectsError}
        onSelect={(id) => run(COMMANDS.selectProject, { projectId: id })}
        onCreate={(name, classes) => run(COMMANDS.createProject, { name, classes })}
        onStartLabelling={() => run(COMMANDS.startLabelling, {})}
        onPickClass={(value) => run(COMMANDS.selectClass, { value })}
      />
      <LabelledSlicesView
        detected={labels.detected}
        error={labels.error}
        onDetect={() => run(COMMANDS.detectLabels, {})}
        onAdd={project ? () => run(COMMANDS.addLabelledSlices, {}) : undefined}
        onAddEmpty={project ? () => run(COMMANDS.addEmptySlice, {}) : undefined}
        onAddUnlabelled={project ? () => run(COMMANDS.addSeriesUnlabelled, {}) : undefined}
        adding={labels.adding}
        selection={selection}
        onAddSeg={project ? (uid) => run(COMMANDS.addSeg, { segSeriesInstanceUID: uid }) : undefined}
        examples={labels.examples}
        classes={project?.classes}
        seriesName={(uid) => workflow.selection.seriesName(uid)}
        onRemove={(id) => run(COMMANDS.removeExample, { exampleId: id })}
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
        onTrain={(options) => run(COMMANDS.train, options)}
        onCancel={() => run(COMMANDS.cancelTraining, {})}
      />
      <SegmentSection
        job={segment}
        segments={segment?.shown?.segments ?? []}
        canSegment={!segmentAvailability.disabled}
        reason={segmentAvailability.disabled ? segmentAvailability.reason : undefined}
        onSegment={(scope) => run(COMMANDS.segmentWithLatestModel, { scope })}
        onToggleSegment={(number) => run(COMMANDS.toggleSegment, { number })}
        labelNext={segment?.shown?.labelNext}
        onJump={(uid) => run(COMMANDS.jumpToSlice, { sopInstanceUID: uid })}
        corrected={segment?.shown?.corrected}
      />
    </div>
  );
}
