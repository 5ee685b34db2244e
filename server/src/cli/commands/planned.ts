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
  { name: 'volume', summary: 'convert a DICOM series to a NIfTI image volume', issue: 3 },
  { name: 'seg', summary: 'write or read DICOM SEG objects (seg write | seg read)', issue: 3 },
  { name: 'encoder', summary: 'export or inspect SAM image encoders (encoder export)', issue: 4 },
  { name: 'serve', summary: 'start the HTTP API server', issue: 5 },
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
