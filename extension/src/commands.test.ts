import { describe, expect, it } from 'vitest';

import { commandsModule, runCommand } from './commands.js';
import { ViewerError } from './errors.js';
import { COMMANDS, COMMANDS_CONTEXT } from './ids.js';
import type { OhifContext } from './ohif/context.js';
import type { Workflow } from './workflow/workflow.js';

/** A commands module over a fake workflow whose labels section records calls or fails. */
function moduleWith(addSeg: (uid: string) => Promise<unknown>) {
  const notes: Array<{ title: string; message: string; type?: string }> = [];
  const ctx = {
    services: { uiNotificationService: { show: (n: (typeof notes)[number]) => void notes.push(n) } },
  } as unknown as OhifContext;
  const workflow = { labels: { addSeg } } as unknown as Workflow;
  return { module: commandsModule(ctx, () => workflow), notes };
}

describe('commands module', () => {
  it('defines every command id, in the nnSAM context', () => {
    const { module } = moduleWith(async () => undefined);
    expect(module.defaultContext).toBe(COMMANDS_CONTEXT);
    expect(Object.keys(module.definitions).sort()).toEqual(Object.values(COMMANDS).sort());
  });

  it('hands the arguments to the section store and resolves to its result', async () => {
    const seen: string[] = [];
    const { module, notes } = moduleWith(async (uid) => (seen.push(uid), { id: 'ex1' }));
    const result = await module.definitions[COMMANDS.addSeg]!.commandFn({
      segSeriesInstanceUID: '1.2',
    } as never);
    expect(result).toEqual({ id: 'ex1' });
    expect(seen).toEqual(['1.2']);
    expect(notes).toEqual([]);
  });

  it('reports a failure once, under the action title with the hint, and still rejects', async () => {
    const error = new ViewerError('no_series', 'The active viewport shows no image series.', {
      hint: 'Click one.',
    });
    const { module, notes } = moduleWith(async () => {
      throw error;
    });
    await expect(
      module.definitions[COMMANDS.addSeg]!.commandFn({ segSeriesInstanceUID: '1.2' } as never),
    ).rejects.toBe(error);
    expect(notes).toEqual([
      expect.objectContaining({
        title: 'nnSAM: cannot add the SEG',
        message: 'The active viewport shows no image series.\nClick one.',
        type: 'error',
      }),
    ]);
  });
});

describe('runCommand', () => {
  it("runs the command in the nnSAM context with its arguments, resolving to the command's result", async () => {
    const calls: unknown[][] = [];
    const commandsManager = {
      runCommand: (...args: unknown[]) => (calls.push(args), Promise.resolve({ id: 'ex1' })),
    };
    await expect(runCommand(commandsManager, COMMANDS.removeExample, { exampleId: 'ex1' })).resolves.toEqual({
      id: 'ex1',
    });
    expect(calls).toEqual([[COMMANDS.removeExample, { exampleId: 'ex1' }, COMMANDS_CONTEXT]]);
  });
});
