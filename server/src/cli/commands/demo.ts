/**
 * `nnsam demo` (what `npm start` runs): a private Orthanc on loopback with the synthetic phantom study, and
 * the OHIF viewer with the nnSAM extension and mode, served with a DICOMweb proxy on one origin. Prints the
 * URL that opens the study, then runs until Ctrl-C. `--check` verifies that every part answers, then stops.
 * `--dicomweb URL` uses an existing DICOMweb server instead of starting Orthanc.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import type { Command } from 'commander';

import {
  DEMO_LABELLED_SLICES,
  DEMO_SEG_DESCRIPTION,
  makePhantom,
  startDemo,
  type Demo,
} from '../../demo/index.js';
import { NnsamError } from '../../util/errors.js';
import { repoRoot } from '../../util/paths.js';
import { writeNifti } from '../../volume/index.js';

interface DemoFlags {
  check?: boolean;
  data?: string;
  dir?: string;
  host: string;
  port: string;
  dicomweb?: string;
  upload?: boolean;
  exportPhantom?: string;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('start Orthanc, the server and the viewer with a demo study, all on loopback')
    .option('--check', 'start everything, verify it answers, stop and exit (used by the tests)')
    .option('--dir <path>', 'folder for the demo Orthanc database (default: a temporary one)')
    .option(
      '--data <path>',
      'data folder of the nnSAM API: database, models (default: .data/demo in the repository)',
    )
    .option('--host <address>', 'address the viewer listens on', process.env.NNSAM_HOST ?? '127.0.0.1')
    .option('--port <n>', 'port the viewer listens on (0: any free port)', process.env.NNSAM_PORT ?? '8900')
    .option(
      '--dicomweb <url>',
      'use this DICOMweb server instead of a private Orthanc (env NNSAM_DICOMWEB_URL)',
    )
    .option(
      '--upload',
      'also store the phantom study on the --dicomweb server (it is never stored there unasked)',
    )
    .option(
      '--export-phantom <dir>',
      'write the phantom (DICOM files, image and label NIfTI) to a folder and exit',
    )
    .action(async (opts: DemoFlags) => {
      if (opts.exportPhantom) {
        await exportPhantom(resolve(opts.exportPhantom));
        return;
      }
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw new NnsamError('invalid_port', `--port ${opts.port} is not a port number (0..65535).`);
      }
      const dicomWeb = opts.dicomweb ?? process.env.NNSAM_DICOMWEB_URL;
      const authorization = process.env.NNSAM_DICOMWEB_AUTHORIZATION;
      const demo = await startDemo({
        host: opts.host,
        port: opts.check ? 0 : port,
        dir: opts.dir,
        dicomWeb,
        dicomWebHeaders: authorization ? { authorization } : undefined,
        upload: dicomWeb ? Boolean(opts.upload) : true,
        demoLabels: true,
        // npm start keeps trained models between runs; --check leaves nothing behind
        api: { dataDir: opts.check ? undefined : resolve(opts.data ?? join(repoRoot, '.data', 'demo')) },
      });
      if (demo.orthanc) console.log(`Orthanc (DICOMweb):  ${demo.orthanc.dicomWebUrl}`);
      else console.log(`DICOMweb server:     ${demo.dicomWebUpstream}`);
      console.log(`nnSAM API server:    ${demo.viewerUrl}/api (data: ${demo.api?.ctx.config.dataDir})`);
      console.log(`OHIF viewer:         ${demo.viewerUrl}/`);
      if (demo.studyUrl) console.log(`Demo study:          ${demo.studyUrl}`);
      if (demo.demoLabelsSeriesUID) {
        const slices = DEMO_LABELLED_SLICES.map((k) => k + 1).join(', ');
        console.log(`Demo labels:         a SEG labelling slices ${slices} ("${DEMO_SEG_DESCRIPTION}");`);
        console.log(
          '                     add it in the nnSAM panel as a training example, or paint your own',
        );
      }

      if (opts.check) {
        try {
          await checkDemo(demo);
        } finally {
          await demo.stop();
        }
        console.log('demo check passed');
        return;
      }
      console.log('Press Ctrl-C to stop.');
      await new Promise<void>((done) => {
        const stop = () => void demo.stop().then(done);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}

/** Fetches what a browser would: the page, the config, both plugins, the study over the proxy. */
async function checkDemo(demo: Demo): Promise<void> {
  const get = async (path: string, accept = '*/*') => {
    const res = await fetch(`${demo.viewerUrl}${path}`, { headers: { Accept: accept } });
    if (!res.ok) throw new NnsamError('demo_check_failed', `GET ${path} answered ${res.status}.`);
    return res;
  };
  const page = await (
    await get(`/nnsam?StudyInstanceUIDs=${demo.phantom?.studyInstanceUID ?? ''}`, 'text/html')
  ).text();
  if (!page.includes('app-config.js'))
    throw new NnsamError('demo_check_failed', 'The viewer page is not OHIF.');
  const health = (await (await get('/api/health', 'application/json')).json()) as { status?: string };
  if (health.status !== 'ok') throw new NnsamError('demo_check_failed', 'The nnSAM API does not report ok.');
  const config = await (await get('/app-config.js')).text();
  const plugins = [...config.matchAll(/"(\/plugins\/[^"]+\.js)"/g)].map((m) => m[1]!);
  if (plugins.length !== 2) {
    throw new NnsamError('demo_check_failed', `app-config.js lists ${plugins.length} plugins, expected 2.`);
  }
  for (const plugin of plugins) {
    const res = await get(plugin);
    if (!/javascript/.test(res.headers.get('content-type') ?? '')) {
      throw new NnsamError('demo_check_failed', `${plugin} is not served as JavaScript.`);
    }
  }
  if (demo.phantom) {
    const { studyInstanceUID, instances } = demo.phantom;
    const found = (await (
      await get(`/dicom-web/studies?StudyInstanceUID=${studyInstanceUID}`, 'application/dicom+json')
    ).json()) as Array<Record<string, { Value?: unknown[] }>>;
    const count = Number(found[0]?.['00201208']?.Value?.[0] ?? 0);
    const expected = instances.length + (demo.demoLabelsSeriesUID ? 1 : 0);
    if (count !== expected) {
      throw new NnsamError(
        'demo_check_failed',
        `The DICOMweb proxy finds ${count} instances of the demo study, expected ${expected}.`,
      );
    }
  } else {
    await get('/dicom-web/studies?limit=1', 'application/dicom+json');
  }
}

async function exportPhantom(dir: string): Promise<void> {
  const phantom = makePhantom();
  await mkdir(join(dir, 'dicom'), { recursive: true });
  for (const instance of phantom.instances) {
    await writeFile(join(dir, 'dicom', `${String(instance.slice + 1).padStart(3, '0')}.dcm`), instance.bytes);
  }
  await writeNifti(join(dir, 'image.nii.gz'), phantom.image, { description: 'nnSAM phantom image' });
  await writeNifti(join(dir, 'labels.nii.gz'), phantom.labels, { description: '1 RV, 2 MYO, 3 LV' });
  console.log(
    `Phantom written to ${dir}: dicom/ (${phantom.instances.length} files), image.nii.gz, labels.nii.gz`,
  );
  console.log(`Study ${phantom.studyInstanceUID}, series ${phantom.seriesInstanceUID}`);
}
