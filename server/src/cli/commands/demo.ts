/**
 * `nnsam demo` (what `npm start` runs): everything on loopback, nothing of the user's needed.
 * Today it starts the private Orthanc; the API server and the viewer join as their issues land
 * (the command says plainly which parts are not built yet).
 */
import type { Command } from 'commander';

import { startOrthanc } from '../../orthanc/launch.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('start Orthanc, the server and the viewer with a demo study, all on loopback')
    .option('--check', 'start everything, verify it answers, stop and exit (used by the tests)')
    .option('--dir <path>', 'folder for the demo data (default: a temporary one)')
    .action(async (opts: { check?: boolean; dir?: string }) => {
      const orthanc = await startOrthanc({ dir: opts.dir });
      console.log(`Orthanc (DICOMweb):  ${orthanc.dicomWebUrl}`);
      console.log('nnSAM API server:    not built yet (issue 5)');
      console.log('OHIF viewer:         not built yet (issue 8)');
      if (opts.check) {
        const res = await fetch(`${orthanc.dicomWebUrl}/studies`);
        await orthanc.stop();
        if (!res.ok) throw new Error(`Orthanc's DICOMweb answered ${res.status}`);
        console.log('demo check passed');
        return;
      }
      console.log('Press Ctrl-C to stop.');
      await new Promise<void>((resolve) => {
        const stop = () => void orthanc.stop().then(resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
