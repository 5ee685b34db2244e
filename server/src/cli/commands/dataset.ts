/**
 * `nnsam dataset export --project ID --out DIR`: a project's training set (from the server's data directory
 * and its PACS) as an nnU-Net v2 raw dataset folder, for a full nnU-Net run elsewhere. The same files as
 * GET /api/projects/{id}/dataset, written straight into a folder.
 */
import type { Command } from 'commander';

import { loadConfig } from '../../config.js';
import { pacsClient, projectDataset, writeDatasetFolder } from '../../services/index.js';
import { Store } from '../../store/index.js';
import { log } from '../../util/logger.js';

export function registerDataset(program: Command): void {
  const dataset = program.command('dataset').description("a project's training set for other tools");
  dataset
    .command('export')
    .description('write a project as an nnU-Net v2 raw dataset (imagesTr/, labelsTr/, dataset.json)')
    .requiredOption('--project <id>', 'project id (GET /api/projects lists them)')
    .requiredOption('--out <dir>', 'new dataset folder, e.g. $nnUNet_raw/Dataset501_Heart')
    .option('--data <dir>', "the server's data directory (env NNSAM_DATA)")
    .option('--dicomweb <url>', 'DICOMweb root of the PACS (env NNSAM_DICOMWEB_URL)')
    .action(async (opts: { project: string; out: string; data?: string; dicomweb?: string }) => {
      const config = loadConfig({ data: opts.data, dicomweb: opts.dicomweb });
      const store = new Store(config.dataDir);
      let project, examples;
      try {
        project = store.projects.get(opts.project);
        examples = store.examples.list(project.id);
      } finally {
        store.close();
      }
      const result = await projectDataset(pacsClient(config, log), project, examples, log);
      await writeDatasetFolder(result, opts.out);
      const json = result.datasetJson;
      console.log(
        `wrote ${opts.out}: ${json.numTraining} cases, labels ${JSON.stringify(json.labels)}` +
          (result.leftOut ? `; ${result.leftOut} image-only example(s) left out` : ''),
      );
    });
}
