import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';

import { LabelledSlicesView } from './LabelledSlices.js';
import { ServerStatusView } from './ServerStatus.js';

const text = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
const noop = () => undefined;

describe('server status section', () => {
  it('shows the version when connected', () => {
    const html = renderToStaticMarkup(
      <ServerStatusView
        state={{ kind: 'ok', health: { status: 'ok', version: '0.1.0' } }}
        apiBaseUrl="/api"
        onRetry={noop}
      />,
    );
    expect(html).toContain('data-state="ok"');
    expect(text(html)).toContain('Connected · version 0.1.0');
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
  it('lists the detected slices and classes; sending stays off without the API', () => {
    const html = renderToStaticMarkup(
      <LabelledSlicesView
        payload={{
          encoding: 'rle-u8-v1',
          studyInstanceUID: '1',
          seriesInstanceUID: '2',
          rows: 4,
          columns: 3,
          slices: [{ sopInstanceUID: '1.2.3.4', labels: 'AQw=' }],
          segments: [{ labelValue: 1, label: 'Liver' }],
        }}
        error={null}
        onDetect={noop}
      />,
    );
    expect(text(html)).toContain('1 labelled slice · 3×4 · Liver');
    expect(html).toMatch(/<button[^>]*disabled=""[^>]*>Add to training set/);
  });
});
