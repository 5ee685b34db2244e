import type { Command } from 'commander';

import { log } from '../../util/logger.js';
import { startOrthanc } from '../../orthanc/launch.js';

/** `nnsam orthanc`: a private loopback Orthanc for development, until Ctrl-C. */
export function registerOrthanc(program: Command): void {
  program
    .command('orthanc')
    .description('start a private Orthanc with DICOMweb on loopback (development and tests)')
    .option('--port <n>', 'HTTP port (default: a free one)', (v) => parseInt(v, 10))
    .option('--dir <path>', 'folder for its database (default: a temporary one, removed on exit)')
    .action(async (opts: { port?: number; dir?: string }) => {
      const orthanc = await startOrthanc({ port: opts.port, dir: opts.dir });
      console.log(`Orthanc listening on ${orthanc.url} (DICOMweb: ${orthanc.dicomWebUrl})`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          log.info('stopping Orthanc');
          void orthanc.stop().then(resolve);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
