import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';

import type { Example, Info } from '@nnsam/server/api';

import { LabelledSlicesView } from './LabelledSlices.js';
import { ServerStatusView } from './ServerStatus.js';

const text = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
const noop = () => undefined;

/** An example as the server lists it, with the fields these views do not show filled in. */
const example = (
  e: Pick<Example, 'id' | 'seriesInstanceUID' | 'sourceKind' | 'labelledSlices' | 'classesPresent'>,
): Example => ({
  projectId: 'p',
  studyInstanceUID: '1',
  labelledSOPInstanceUIDs: e.labelledSlices.map((k) => `1.2.${k}`),
  createdAt: 'now',
  ...e,
});

const info = (configured: boolean, gpus: string[] = []): Info => ({
  version: '0.1.0',
  devices: { cpuThreads: 2, cuda: gpus.length > 0, gpus },
  encoders: [
    { id: 'none', available: true, description: 'no encoder' },
    {
      id: 'mobilesam',
      available: configured,
      description: 'MobileSAM',
      ...(configured ? {} : { hint: 'Set NNSAM_MOBILESAM_CHECKPOINT.' }),
    },
  ],
  mobileSam: { configured },
  dicomweb: { url: 'http://pacs/dicom-web' },
  auth: 'none',
  queue: 'local',
});

describe('server status section', () => {
  it('shows the version, the device and whether the MobileSAM weights are there', () => {
    const health = { status: 'ok' as const, version: '0.1.0' };
    const html = renderToStaticMarkup(
      <ServerStatusView
        state={{ kind: 'ok', health, info: info(false), infoError: null }}
        apiBaseUrl="/api"
        onRetry={noop}
      />,
    );
    expect(html).toContain('data-state="ok"');
    expect(text(html)).toContain('Connected · version 0.1.0 · CPU, 2 threads');
    expect(text(html)).toContain(
      'No MobileSAM weights: training uses nnU-Net alone Set NNSAM_MOBILESAM_CHECKPOINT.',
    );
    const gpu = renderToStaticMarkup(
      <ServerStatusView
        state={{ kind: 'ok', health, info: info(true, ['H200']), infoError: null }}
        apiBaseUrl="/api"
        onRetry={noop}
      />,
    );
    expect(text(gpu)).toContain('GPU H200');
    expect(text(gpu)).toContain('MobileSAM encoder weights present');
  });

  it('shows a refused info request (e.g. no token) under the connection line', () => {
    const html = renderToStaticMarkup(
      <ServerStatusView
        state={{
          kind: 'ok',
          health: { status: 'ok', version: '1' },
          info: null,
          infoError: { message: 'Missing bearer token.', hint: 'Set nnsam.token.' },
        }}
        apiBaseUrl="/api"
        onRetry={noop}
      />,
    );
    expect(text(html)).toContain('Connected · version 1 Missing bearer token. Set nnsam.token.');
  });

  it('shows "Server unreachable" with the reason and the hint as an alert', () => {
    const html = renderToStaticMarkup(
      <ServerStatusView
        state={{ kind: 'error', message: 'The nnSAM server at /api did not answer.', hint: 'Start it.' }}
        apiBaseUrl="/api"
        onRetry={noop}
      />,
    );
    expect(html).toContain('role="alert"');
    expect(text(html)).toContain('Server unreachable The nnSAM server at /api did not answer. Start it.');
  });
});

describe('labelled slices section', () => {
  it('lists the detected slices and the training set with classes and remove buttons; adding needs a project', () => {
    const detected = {
      encoding: 'rle-u8-v1' as const,
      studyInstanceUID: '1',
      seriesInstanceUID: '2',
      rows: 4,
      columns: 3,
      slices: [{ sopInstanceUID: '1.2.3.4', labels: 'AQw=' }],
      segments: [{ labelValue: 1, label: 'Liver' }],
    };
    const html = renderToStaticMarkup(
      <LabelledSlicesView detected={detected} error={null} onDetect={noop} />,
    );
    expect(text(html)).toContain('1 labelled slice · 3×4 · Liver');
    expect(html).toMatch(/<button[^>]*disabled=""[^>]*data-cy="nnsam-add-labels"/);
    expect(html).toMatch(/<button[^>]*disabled=""[^>]*data-cy="nnsam-add-empty-slice"/);
    expect(html).toMatch(/<button[^>]*disabled=""[^>]*data-cy="nnsam-add-unlabelled-series"/);

    const withSet = renderToStaticMarkup(
      <LabelledSlicesView
        detected={null}
        error={null}
        onDetect={noop}
        onAdd={noop}
        onAddEmpty={noop}
        onRemove={noop}
        classes={[{ value: 1, name: 'Liver', color: [9, 8, 7] }]}
        seriesName={() => 'S3 CT abdomen'}
        selection={{
          studyInstanceUID: '1',
          seriesInstanceUID: '2',
          description: 'S3',
          segs: [{ seriesInstanceUID: '9', description: 'Liver SEG' }],
        }}
        onAddSeg={noop}
        examples={[
          example({
            id: 'ex1',
            seriesInstanceUID: '2',
            sourceKind: 'seg',
            labelledSlices: [0, 4],
            classesPresent: [1],
          }),
          example({
            id: 'ex2',
            seriesInstanceUID: '2',
            sourceKind: 'labelmap',
            labelledSlices: [7],
            classesPresent: [],
          }),
        ]}
      />,
    );
    expect(text(withSet)).toContain('Training set: 1 series, 3 slices');
    // a negative slice says so instead of listing no class
    expect(text(withSet)).toContain('S3 CT abdomen 1 slice (8) none of the classes Remove');
    expect(text(withSet)).toContain('S3 CT abdomen · SEG 2 slices (1, 5) Liver Remove');
    expect(withSet).toContain('rgb(9, 8, 7)');
    expect(text(withSet)).toContain('Or add a SEG of this series: Liver SEG');
    expect(withSet).not.toMatch(/<button[^>]*disabled=""[^>]*data-cy="nnsam-add-labels"/);
    expect(withSet).not.toMatch(/<button[^>]*disabled=""[^>]*data-cy="nnsam-add-empty-slice"/);
  });

  it('offers the series on screen unlabelled and lists such a series as images only', () => {
    const html = renderToStaticMarkup(
      <LabelledSlicesView
        detected={null}
        error={null}
        onDetect={noop}
        onAdd={noop}
        onAddUnlabelled={noop}
        onRemove={noop}
        classes={[{ value: 1, name: 'Liver', color: [9, 8, 7] }]}
        seriesName={(uid) => (uid === '2' ? 'S3 CT abdomen' : 'S4 CT venous')}
        examples={[
          example({
            id: 'ex1',
            seriesInstanceUID: '2',
            sourceKind: 'labelmap',
            labelledSlices: [3, 5],
            classesPresent: [1],
          }),
          example({
            id: 'ex2',
            seriesInstanceUID: '4',
            sourceKind: 'image',
            labelledSlices: [],
            classesPresent: [],
          }),
        ]}
      />,
    );
    const button = /<button[^>]*data-cy="nnsam-add-unlabelled-series"[^>]*>([^<]*)<\/button>/.exec(html);
    expect(button?.[0]).not.toContain('disabled=""');
    expect(button?.[1]).toBe('Add this series unlabelled');
    // counted as a series, not as slices; listed without a slice count or a class ("none of the classes"
    // is for a labelled negative slice, which this is not)
    expect(text(html)).toContain('Training set: 2 series (1 unlabelled), 2 slices');
    expect(text(html)).toContain('S4 CT venous unlabelled (images only) Remove');
    expect(text(html)).not.toContain('none of the classes');
    expect(text(html)).not.toContain('0 slices');
    // adding anything is off while an example is on its way
    const busy = renderToStaticMarkup(
      <LabelledSlicesView detected={null} error={null} onDetect={noop} onAddUnlabelled={noop} adding />,
    );
    expect(busy).toMatch(/<button[^>]*disabled=""[^>]*data-cy="nnsam-add-unlabelled-series"/);
  });
});
