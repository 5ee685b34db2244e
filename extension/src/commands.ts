/**
 * The extension's commands (OHIF commands module). Each reports its failure as an OHIF notification and
 * still rejects, so a caller (the panel, a toolbar button, a test) can react too.
 */
import { COMMANDS, COMMANDS_CONTEXT } from './ids.js';
import { notifyError } from './errors.js';
import { collectLabelmap, type CollectOptions } from './labelmap/collect.js';
import type { OhifContext } from './ohif/context.js';
import { showSeg, type ShowSegOptions } from './seg/show.js';

export function commandsModule(ctx: OhifContext) {
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
    },
    defaultContext: COMMANDS_CONTEXT,
  };
}
