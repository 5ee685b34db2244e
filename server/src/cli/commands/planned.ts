/**
 * Subcommands that are announced in --help but not built yet. Each says so and exits non-zero:
 * the command line never pretends. A subcommand moves out of this list when its module lands.
 */
import type { Command } from 'commander';

import { NnsamError } from '../../util/errors.js';

interface Planned {
  name: string;
  summary: string;
  issue: number;
}

export const PLANNED: Planned[] = [
  { name: 'plan', summary: 'fingerprint a training manifest and print the nnSAM plan', issue: 4 },
  { name: 'train', summary: 'train an nnSAM model from a few labelled slices', issue: 4 },
  { name: 'predict', summary: 'segment NIfTI volumes with a trained model', issue: 4 },
];

export function registerPlanned(program: Command): void {
  for (const p of PLANNED) {
    program
      .command(p.name)
      .description(`${p.summary} [not built yet]`)
      .allowUnknownOption(true)
      .allowExcessArguments(true)
      .action(() => {
        throw new NnsamError(
          'not_built',
          `\`nnsam ${p.name}\` is not built yet (tracked in issue ${p.issue}).`,
        );
      });
  }
}
