import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';

import { LossCurve } from './LossCurve.js';
import { parseClassNames, ProjectSection, SegmentSection, TrainSection } from './sections.js';

const text = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
const noop = () => undefined;

describe('panel sections fed by props', () => {
  it('parses class names into numbered, coloured classes and refuses duplicates', () => {
    expect(parseClassNames(' Liver, Spleen ,, ')).toEqual([
      { value: 1, name: 'Liver', color: [221, 84, 84] },
      { value: 2, name: 'Spleen', color: [77, 228, 121] },
    ]);
    expect(() => parseClassNames('Liver, liver')).toThrow(/"liver" is listed twice/);
  });

  it('lists the selected project’s classes with their colours', () => {
    const html = renderToStaticMarkup(
      <ProjectSection
        projects={[{ id: 'p1', name: 'Cardiac', classes: [{ value: 1, name: 'LV', color: [1, 2, 3] }] }]}
        selectedId="p1"
        onSelect={noop}
        onCreate={noop}
      />,
    );
    expect(html).toContain('rgb(1, 2, 3)');
    expect(text(html)).toContain('LV 1');
  });

  it('shows training progress, a curve with a point per iteration, then the model and its metrics', () => {
    const curve = [1, 2, 3].map((iteration) => ({ iteration, loss: 1 / iteration, valDice: iteration / 4 }));
    const live = renderToStaticMarkup(
      <TrainSection
        job={{ state: 'running', progress: { stage: 'training', done: 30, total: 120 } }}
        curve={curve}
        model={null}
        canTrain
        onTrain={noop}
        onCancel={noop}
      />,
    );
    expect(text(live)).toContain('training · 25%');
    expect(text(live)).toContain('Cancel');
    expect(text(live)).toContain('loss 0.333 val Dice 0.750');
    const loss = /data-series="loss" points="([^"]+)"/.exec(live)![1]!;
    expect(loss.split(' ')).toHaveLength(3);
    const done = renderToStaticMarkup(
      <TrainSection
        job={{ state: 'succeeded' }}
        curve={curve}
        model={{ id: 'm7', metrics: { dice: 0.91 } }}
        canTrain
        onTrain={noop}
        onCancel={noop}
      />,
    );
    expect(text(done)).toContain('Model m7 · dice 0.910');
    const failed = renderToStaticMarkup(
      <TrainSection
        job={{ state: 'failed', error: { message: 'Out of memory.', hint: 'Use fewer slices.' } }}
        curve={[]}
        model={null}
        canTrain
        onTrain={noop}
        onCancel={noop}
      />,
    );
    expect(text(failed)).toContain('Out of memory. Use fewer slices.');
  });

  it('needs two points before drawing a curve', () => {
    expect(text(renderToStaticMarkup(<LossCurve points={[{ iteration: 1, loss: 1 }]} />))).toMatch(
      /appears after/,
    );
  });

  it('lists result segments with a visibility toggle each', () => {
    const html = renderToStaticMarkup(
      <SegmentSection
        job={{ state: 'succeeded' }}
        segments={[
          { number: 1, label: 'Liver', visible: true },
          { number: 2, label: 'Spleen', visible: false },
        ]}
        canSegment
        onSegment={noop}
        onToggleSegment={noop}
      />,
    );
    expect(text(html)).toContain('Liver Hide Spleen Show');
    expect(html).toContain('aria-pressed="false"');
  });
});
