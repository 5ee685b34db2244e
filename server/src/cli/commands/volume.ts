/**
 * `nnsam volume --series DIR --out IMAGE.nii.gz`: a DICOM series as a NIfTI volume (i = column, j = row,
 * k = slice sorted along the slice normal; the affine maps voxels to patient coordinates, stored as RAS).
 */
import type { Command } from 'commander';
import { gzipSync } from 'node:zlib';

import { loadSeriesFromFiles, writeFileAtomic, type DicomSeries } from '../../dicom/index.js';
import { NnsamError } from '../../util/errors.js';
import { encodeNifti, type Volume } from '../../volume/index.js';

export interface SeriesOptions {
  series: string;
  seriesUid?: string;
  missingUids?: string;
}

/** --series, --series-uid and --missing-uids, shared by `volume` and `seg`. */
export function addSeriesOptions(command: Command): Command {
  return command
    .requiredOption('--series <dir>', 'folder (or file) with the DICOM images of the series')
    .option('--series-uid <uid>', 'which series to use when the folder holds several')
    .option('--missing-uids <policy>', "empty UIDs: 'derive' (fill in, default) or 'reject'", 'derive');
}

export async function loadSeriesOption(opts: SeriesOptions): Promise<DicomSeries> {
  if (opts.missingUids !== undefined && opts.missingUids !== 'derive' && opts.missingUids !== 'reject') {
    throw new NnsamError(
      'invalid_option',
      `--missing-uids must be 'derive' or 'reject' (got '${opts.missingUids}')`,
    );
  }
  return loadSeriesFromFiles(opts.series, {
    ...(opts.seriesUid ? { seriesInstanceUID: opts.seriesUid } : {}),
    missingUids: (opts.missingUids ?? 'derive') as 'derive' | 'reject',
  });
}

/** Writes a volume as .nii or .nii.gz, all or nothing. */
export async function writeNiftiAtomic(path: string, volume: Volume, description: string): Promise<void> {
  if (!/\.nii(\.gz)?$/.test(path)) {
    throw new NnsamError('invalid_option', `--out ${path}: the output must end in .nii or .nii.gz`);
  }
  const raw = encodeNifti(volume, { description });
  await writeFileAtomic(path, path.endsWith('.gz') ? gzipSync(raw, { level: 6 }) : raw);
}

export function registerVolume(program: Command): void {
  addSeriesOptions(
    program
      .command('volume')
      .description('convert a DICOM series to a NIfTI image volume (values rescaled, e.g. HU for CT)'),
  )
    .requiredOption('--out <file>', 'output NIfTI file (.nii or .nii.gz)')
    .action(async (opts: SeriesOptions & { out: string }) => {
      const series = await loadSeriesOption(opts);
      await writeNiftiAtomic(opts.out, series.volume, `nnSAM ${series.meta.modality}`);
      const g = series.volume.geometry;
      console.log(
        `wrote ${opts.out}: ${g.dims.join('x')} voxels, spacing ${g.spacing.map((s) => +s.toFixed(4)).join(' x ')} mm, ` +
          `series ${series.meta.seriesInstanceUID}`,
      );
      for (const w of series.warnings) console.log(`  note: ${w}`);
    });
}
