/**
 * The extension's commands (OHIF commands module): every action of the panel and the toolbar button, and
 * the viewer-side building blocks other code may use. They are the one way in: the panel runs them through
 * OHIF's commands manager (`runCommand` below), as OHIF's own panels do. Each reports its failure once, as
 * an OHIF notification titled for the action (`reported`), and still rejects, so a caller can react too.
 */
import type { ClassDef, Example, Job, LabelmapPayload, Project } from '@nnsam/server/api';

import { COMMANDS, COMMANDS_CONTEXT } from './ids.js';
import { notifyError } from './errors.js';
import { collectLabelmap, type CollectOptions } from './labelmap/collect.js';
import { createLabelmap, type CreatedLabelmap, type CreateLabelmapOptions } from './labelmap/create.js';
import type { OhifContext } from './ohif/context.js';
import type { CommandsManager } from './ohif/types.js';
import { showSeg, type ShownSeg, type ShowSegOptions } from './seg/show.js';
import type { SegmentRun } from './workflow/segmentation.js';
import type { Workflow } from './workflow/workflow.js';

/** OHIF hands a command an object always (at least `{}`); commands without arguments ignore it. */
export type NoArgs = Record<string, unknown>;

/** Each command's arguments and result. */
interface Signatures {
  [COMMANDS.collectLabelmap]: (args: CollectOptions) => LabelmapPayload;
  [COMMANDS.showSeg]: (args: ShowSegOptions) => Promise<ShownSeg>;
  [COMMANDS.createLabelmap]: (args: CreateLabelmapOptions) => Promise<CreatedLabelmap>;
  /** the toolbar passes its button props; the scope is all that is read */
  [COMMANDS.segmentWithLatestModel]: (args: { scope?: 'series' | 'study' }) => Promise<SegmentRun>;
  [COMMANDS.checkServer]: (args: NoArgs) => Promise<void>;
  [COMMANDS.selectProject]: (args: { projectId: string | null }) => Promise<void>;
  [COMMANDS.createProject]: (args: { name: string; classes: ClassDef[] }) => Promise<Project>;
  [COMMANDS.startLabelling]: (args: NoArgs) => Promise<string>;
  [COMMANDS.selectClass]: (args: { value: number }) => void;
  [COMMANDS.detectLabels]: (args: NoArgs) => LabelmapPayload;
  [COMMANDS.addLabelledSlices]: (args: NoArgs) => Promise<Example>;
  [COMMANDS.addEmptySlice]: (args: NoArgs) => Promise<Example>;
  [COMMANDS.addSeriesUnlabelled]: (args: NoArgs) => Promise<Example>;
  [COMMANDS.addSeg]: (args: { segSeriesInstanceUID: string }) => Promise<Example>;
  [COMMANDS.removeExample]: (args: { exampleId: string }) => Promise<void>;
  [COMMANDS.train]: (args: { minutes: number; encoder: string }) => Promise<Job>;
  [COMMANDS.cancelTraining]: (args: NoArgs) => Promise<void>;
  [COMMANDS.toggleSegment]: (args: { number: number }) => void;
  [COMMANDS.jumpToSlice]: (args: { sopInstanceUID: string }) => Promise<void>;
}

export type CommandId = keyof Signatures;
export type CommandArgs<K extends CommandId> = Parameters<Signatures[K]>[0];
export type CommandResult<K extends CommandId> = Awaited<ReturnType<Signatures[K]>>;

/** What a command does, and the notification title its failure is shown under. */
type Actions = { [K in CommandId]: { title: string; run: Signatures[K] } };

function actions(ctx: OhifContext, workflow: () => Workflow): Actions {
  return {
    [COMMANDS.collectLabelmap]: {
      title: 'nnSAM: cannot read the labels',
      run: (args) => collectLabelmap(ctx, args),
    },
    [COMMANDS.showSeg]: { title: 'nnSAM: cannot show the segmentation', run: (args) => showSeg(ctx, args) },
    [COMMANDS.createLabelmap]: {
      title: 'nnSAM: cannot start labelling',
      run: (args) => createLabelmap(ctx, args),
    },
    [COMMANDS.segmentWithLatestModel]: {
      title: 'nnSAM: segmentation failed',
      run: (args = {}) => workflow().segmentation.segment(args.scope === 'study' ? 'study' : 'series'),
    },
    [COMMANDS.checkServer]: { title: 'nnSAM server', run: () => workflow().server.check() },
    [COMMANDS.selectProject]: {
      title: 'nnSAM: cannot open the project',
      run: (args) => workflow().projects.select(args.projectId),
    },
    [COMMANDS.createProject]: {
      title: 'nnSAM: cannot create the project',
      run: (args) => workflow().projects.create(args.name, args.classes),
    },
    [COMMANDS.startLabelling]: {
      title: 'nnSAM: cannot start labelling',
      run: () => workflow().classes.startLabelling(),
    },
    [COMMANDS.selectClass]: {
      title: 'nnSAM: cannot pick the class',
      run: (args) => workflow().classes.selectClass(args.value),
    },
    [COMMANDS.detectLabels]: { title: 'nnSAM: no labels to add', run: () => workflow().labels.detect() },
    [COMMANDS.addLabelledSlices]: {
      title: 'nnSAM: cannot add the labelled slices',
      run: () => workflow().labels.addLabelledSlices(),
    },
    [COMMANDS.addEmptySlice]: {
      title: 'nnSAM: cannot add the slice',
      run: () => workflow().labels.addEmptySlice(),
    },
    [COMMANDS.addSeriesUnlabelled]: {
      title: 'nnSAM: cannot add the series',
      run: () => workflow().labels.addSeriesUnlabelled(),
    },
    [COMMANDS.addSeg]: {
      title: 'nnSAM: cannot add the SEG',
      run: (args) => workflow().labels.addSeg(args.segSeriesInstanceUID),
    },
    [COMMANDS.removeExample]: {
      title: 'nnSAM: cannot remove the example',
      run: (args) => workflow().labels.removeExample(args.exampleId),
    },
    [COMMANDS.train]: {
      title: 'nnSAM: cannot start training',
      run: (args) => workflow().training.train({ minutes: args.minutes, encoder: args.encoder }),
    },
    [COMMANDS.cancelTraining]: {
      title: 'nnSAM: cannot cancel training',
      run: () => workflow().training.cancel(),
    },
    [COMMANDS.toggleSegment]: {
      title: 'nnSAM: cannot change the overlay',
      run: (args) => workflow().segmentation.toggleSegment(args.number),
    },
    [COMMANDS.jumpToSlice]: {
      title: 'nnSAM: cannot go to the slice',
      run: (args) => workflow().segmentation.jumpToSlice(args.sopInstanceUID),
    },
  };
}

/** The one error path of an action: shown as a notification under `title`, then rethrown. */
export function reported<A, R>(ctx: OhifContext, title: string, fn: (args: A) => R | Promise<R>) {
  return async (args: A): Promise<Awaited<R>> => {
    try {
      return await fn(args);
    } catch (e) {
      notifyError(ctx.services.uiNotificationService, title, e);
      throw e;
    }
  };
}

export function commandsModule(ctx: OhifContext, workflow: () => Workflow) {
  const definitions: Record<string, { commandFn: (args: never) => Promise<unknown> }> = {};
  for (const [id, action] of Object.entries(actions(ctx, workflow))) {
    definitions[id] = {
      commandFn: reported(ctx, action.title, action.run as (args: unknown) => unknown),
    };
  }
  return { definitions, defaultContext: COMMANDS_CONTEXT };
}

/** Runs one of our commands in our context, typed: how the panel (or any caller) triggers an action. */
export async function runCommand<K extends CommandId>(
  commandsManager: CommandsManager,
  id: K,
  args: CommandArgs<K>,
): Promise<CommandResult<K>> {
  return (await commandsManager.runCommand(
    id,
    args as Record<string, unknown>,
    COMMANDS_CONTEXT,
  )) as CommandResult<K>;
}
