/**
 * Mirror test-time augmentation, decided here and nowhere else. The first explicit choice wins: the caller's
 * (`nnsam predict --tta/--no-tta`, the segment request's `tta`), then the server's NNSAM_TTA, then the plan's
 * `inference.tta`; without any, the device decides. A GPU runs nnU-Net's 4 mirror passes (cheap there); a CPU
 * runs one: the passes multiply the network's time by 4, which on 2 cores is the difference between minutes
 * and an hour for a CT, for a Dice gain measured with `npm run bench -- variants` (docs/benchmarks.md).
 */
import type { Device } from '../session-thread.js';

export const TTA_BY_DEVICE: Record<Device, boolean> = { cpu: false, cuda: true };

/** The server's setting (NNSAM_TTA): 'auto' leaves the choice to the plan and the device. */
export type TtaSetting = 'auto' | 'on' | 'off';

export function ttaFromSetting(setting: TtaSetting): boolean | undefined {
  return setting === 'auto' ? undefined : setting === 'on';
}

/** Whether to mirror: the first boolean among `choices` (most specific first), else the device's default. */
export function resolveTta(device: Device, ...choices: (boolean | null | undefined)[]): boolean {
  for (const choice of choices) if (typeof choice === 'boolean') return choice;
  return TTA_BY_DEVICE[device];
}

/** [flip rows, flip cols] of every pass: the identity, plus every combination of the plan's mirror axes. */
export function mirrorPasses(mirrorAxes: number[], tta: boolean): [boolean, boolean][] {
  const passes: [boolean, boolean][] = [[false, false]];
  if (!tta) return passes;
  for (const axis of [0, 1].filter((a) => mirrorAxes.includes(a))) {
    for (const p of [...passes]) passes.push(axis === 0 ? [true, p[1]] : [p[0], true]);
  }
  return passes;
}
