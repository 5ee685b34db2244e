/** `nnsam plan`: fingerprint a manifest and print the plan (JSON) that `nnsam train` would use. */
import { writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';

import type { Command } from 'commander';

import { loadManifestCases, planFromCases, resolveEncoder, type Plan } from '../../engine/index.js';
import { intOption, positiveNumber } from '../options.js';

/** A few human lines about a plan (the JSON is the full story). */
export function planSummary(plan: Plan): string {
  const n = plan.network;
  const lines = [
    `plan: ${plan.fingerprint.cases} case(s), ${plan.fingerprint.labelledSlices} labelled slice(s), ` +
      `${plan.numClasses - 1} class(es), modality ${plan.modality}`,
    `  spacing ${plan.targetSpacing.map((v) => v.toFixed(3)).join(' x ')} mm, median slice ` +
      `${plan.medianShape.join(' x ')}, normalization ${plan.normalization.scheme}`,
    `  network: ${n.numStages} stages, features ${n.featuresPerStage.join('/')}, patch ${n.patchSize.join(' x ')}, ` +
      `batch ${n.batchSize} (${plan.budget.device}, ${plan.budget.cores} core(s)), ` +
      (n.inputSlices > 1 ? `2.5D: ${n.inputSlices} slices in` : '2D: one slice in'),
    plan.embedding
      ? `  SAM encoder ${plan.embedding.encoder}: embedding enters decoder stage ${plan.embedding.stage} ` +
        `(stride ${plan.embedding.stride.join('x')})`
      : '  no SAM encoder: plain nnU-Net',
    `  validation: ${plan.training.validationSlices} held-out labelled slice(s)`,
    ...plan.overrides.map((o) => `  set by hand: ${o}`),
    ...plan.warnings.map((w) => `  warning: ${w}`),
  ];
  return lines.join('\n');
}

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description('fingerprint a training manifest and print the nnSAM plan as JSON')
    .requiredOption('--manifest <file>', 'training manifest (JSON)')
    .option('--encoder <name>', 'auto | none | mobilesam | FILE.onnx', 'auto')
    .option('--device <device>', 'cpu | cuda (the compute budget the batch size is planned for)', 'cpu')
    .option('--threads <n>', 'CPU cores the trainer will use (default: all)', intOption)
    .option('--gpu-memory <gb>', 'GPU memory target in GB for --device cuda', positiveNumber)
    .option('--out <file>', 'also write the plan to this file')
    .action(
      async (opts: {
        manifest: string;
        encoder: string;
        device: string;
        threads?: number;
        gpuMemory?: number;
        out?: string;
      }) => {
        const { classes, modality, cases } = await loadManifestCases(opts.manifest);
        const resolved = await resolveEncoder(opts.encoder);
        const plan = planFromCases(cases, {
          classes,
          modality,
          encoder: resolved.ref,
          device: opts.device === 'cuda' ? 'cuda' : 'cpu',
          cores: opts.threads ?? availableParallelism(),
          gpuMemoryGb: opts.gpuMemory,
          warnings: resolved.warning ? [resolved.warning] : [],
        });
        const json = JSON.stringify(plan, null, 2);
        if (opts.out) await writeFile(opts.out, json + '\n');
        process.stderr.write(planSummary(plan) + '\n');
        process.stdout.write(json + '\n');
      },
    );
}
