/**
 * The extension's commands (OHIF commands module). Each reports its failure as an OHIF notification and
 * still rejects, so a caller (the panel, a toolbar button, a test) can react too.
 */
import { COMMANDS, COMMANDS_CONTEXT } from './ids.js';
import { notifyError } from './errors.js';
import { collectLabelmap, type CollectOptions } from './labelmap/collect.js';
import { createLabelmap, type CreateLabelmapOptions } from './labelmap/create.js';
import type { OhifContext } from './ohif/context.js';
import { showSeg, type ShowSegOptions } from './seg/show.js';
import type { Workflow } from './workflow/workflow.js';

export function commandsModule(ctx: OhifContext, workflow: () => Workflow) {
  const reported =
    <A, R>(title: string, fn: (args: A) => R | Promise<R>) =>
    async (args: A): Promise<R> => {
      try {
        return await fn(args);
      } catch (e) {
        notifyError(ctx.services.uiNotificationService, title, e);
        throw e;
      }
    };
  return {
    definitions: {
      [COMMANDS.collectLabelmap]: {
        commandFn: reported('nnSAM: cannot read the labels', (args: CollectOptions) =>
          collectLabelmap(ctx, args),
        ),
      },
      [COMMANDS.showSeg]: {
        commandFn: reported('nnSAM: cannot show the segmentation', (args: ShowSegOptions) =>
          showSeg(ctx, args),
        ),
      },
      [COMMANDS.createLabelmap]: {
        commandFn: reported('nnSAM: cannot start labelling', (args: CreateLabelmapOptions) =>
          createLabelmap(ctx, args),
        ),
      },
      [COMMANDS.segmentWithLatestModel]: {
        // the toolbar passes its button props; the scope is all we read
        commandFn: reported('nnSAM: segmentation failed', (args: { scope?: 'series' | 'study' } = {}) =>
          workflow().segmentation.segment(args.scope === 'study' ? 'study' : 'series'),
        ),
      },
    },
    defaultContext: COMMANDS_CONTEXT,
  };
}
