/**
 * `nnsam seg write` (label NIfTI -> DICOM SEG on the series) and `nnsam seg read` (DICOM SEG -> label NIfTI
 * on the series grid). Outputs are written all or nothing.
 */
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';

import { parseClasses, readSeg, writeFileAtomic, writeSeg, type ClassDefinition } from '../../dicom/index.js';
import { NnsamError } from '../../util/errors.js';
import { readNifti } from '../../volume/index.js';
import { version } from '../../version.js';
import { addSeriesOptions, loadSeriesOption, writeNiftiAtomic, type SeriesOptions } from './volume.js';

/** --classes: inline JSON (starts with "{") or the path of a JSON file. */
async function loadClasses(value: string | undefined): Promise<ClassDefinition[] | undefined> {
  if (value === undefined) return undefined;
  let text = value;
  const where = value.trim().startsWith('{') ? '--classes' : value;
  if (!value.trim().startsWith('{')) {
    try {
      text = await readFile(value, 'utf8');
    } catch (e) {
      throw new NnsamError(
        'file_not_found',
        `Cannot read the classes file ${value}: ${(e as Error).message}`,
      );
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new NnsamError('invalid_classes', `${where} is not valid JSON: ${(e as Error).message}`);
  }
  return parseClasses(json, where); // parsed here so the message names the option or file
}

export function registerSeg(program: Command): void {
  const seg = program.command('seg').description('write or read DICOM SEG objects (seg write | seg read)');

  addSeriesOptions(
    seg.command('write').description('write a label NIfTI as a BINARY DICOM SEG of the series'),
  )
    .requiredOption('--labels <file>', 'label volume (.nii/.nii.gz) on the grid of the series')
    .requiredOption('--out <file>', 'output DICOM SEG file')
    .option(
      '--classes <json>',
      'label value -> name, inline JSON or a file: {"1": "Liver", "2": {"name": "Spleen"}}',
    )
    .option('--algorithm <name>', 'algorithm name written into the SEG', 'nnSAM')
    .option('--algorithm-version <version>', 'algorithm (model) version written into the SEG', version)
    .action(
      async (
        opts: SeriesOptions & {
          labels: string;
          out: string;
          classes?: string;
          algorithm: string;
          algorithmVersion: string;
        },
      ) => {
        const classes = await loadClasses(opts.classes);
        const series = await loadSeriesOption(opts);
        const labels = await readNifti(opts.labels);
        const written = writeSeg(labels, series, classes, {
          name: opts.algorithm,
          version: opts.algorithmVersion,
        });
        await writeFileAtomic(opts.out, written.bytes);
        console.log(
          `wrote ${opts.out}: ${written.frameCount} frame(s), SOP Instance ${written.sopInstanceUID}`,
        );
        for (const s of written.segments) {
          console.log(
            `  segment ${s.segmentNumber} "${s.name}" (label ${s.labelValue}): ${s.voxelCount} voxels on ${s.frameCount} slice(s)`,
          );
        }
        for (const w of [...series.warnings, ...written.warnings]) console.log(`  note: ${w}`);
      },
    );

  addSeriesOptions(
    seg.command('read').description('read a DICOM SEG into a label NIfTI on the grid of its series'),
  )
    .requiredOption('--seg <file>', 'DICOM SEG file')
    .requiredOption('--out <file>', 'output label NIfTI (.nii or .nii.gz); label value = segment number')
    .action(async (opts: SeriesOptions & { seg: string; out: string }) => {
      let bytes: Uint8Array;
      try {
        bytes = await readFile(opts.seg);
      } catch (e) {
        throw new NnsamError('file_not_found', `Cannot read ${opts.seg}: ${(e as Error).message}`);
      }
      const series = await loadSeriesOption(opts);
      const result = await readSeg(bytes, series, { where: opts.seg });
      await writeNiftiAtomic(opts.out, result.labels, 'nnSAM labels');
      console.log(
        `wrote ${opts.out}: ${result.labels.geometry.dims.join('x')} labels from ${result.segmentationType} SEG`,
      );
      for (const s of result.segments) {
        console.log(
          `  label ${s.labelValue} "${s.label}": ${s.voxelCount} voxels on ${s.frameCount} frame(s)`,
        );
      }
      for (const w of [...series.warnings, ...result.warnings]) console.log(`  note: ${w}`);
    });
}
