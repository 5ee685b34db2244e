import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';

import { LossCurve } from './LossCurve.js';
import {
  modelMetricsText,
  parseClassNames,
  ProjectSection,
  SegmentSection,
  TrainSection,
} from './sections.js';

const text = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
const noop = () => undefined;
// the value of the input tagged data-cy, whatever order React writes the attributes in
const inputValue = (html: string, cy: string) =>
  new RegExp(`<input[^>]*data-cy="${cy}"[^>]*>`).exec(html)?.[0].match(/value="([^"]*)"/)?.[1];

describe('panel sections fed by props', () => {
  it('parses class names into numbered, coloured classes and refuses duplicates', () => {
    expect(parseClassNames(' Liver, Spleen ,, ')).toEqual([
      { value: 1, name: 'Liver', color: [221, 84, 84] },
      { value: 2, name: 'Spleen', color: [77, 228, 121] },
    ]);
    expect(() => parseClassNames('Liver, liver')).toThrow(/"liver" is listed twice/);
    expect(() => parseClassNames('x'.repeat(65))).toThrow(/longer than 64/);
  });

  it('lists the selected project’s classes with their colours, and offers to start labelling', () => {
    const html = renderToStaticMarkup(
      <ProjectSection
        projects={[{ id: 'p1', name: 'Cardiac', classes: [{ value: 1, name: 'LV', color: [1, 2, 3] }] }]}
        selectedId="p1"
        onSelect={noop}
        onCreate={noop}
        onStartLabelling={noop}
      />,
    );
    expect(html).toContain('rgb(1, 2, 3)');
    expect(text(html)).toContain('LV 1');
    expect(html).toContain('data-cy="nnsam-start-labelling"');
    // the creation form is folded away while projects exist, open when there are none
    expect(html).not.toContain('data-cy="nnsam-project-form"');
    const empty = renderToStaticMarkup(
      <ProjectSection
        projects={[]}
        selectedId={null}
        onSelect={noop}
        onCreate={noop}
        onStartLabelling={noop}
      />,
    );
    expect(empty).toContain('data-cy="nnsam-project-form"');
    expect(empty).not.toContain('nnsam-start-labelling');
  });

  it('shows training progress, a curve with a point per iteration, then the model and its metrics', () => {
    const curve = [1, 2, 3].flatMap((iteration) => [
      { iteration, loss: 1 / iteration },
      { iteration, valDice: iteration / 4 },
    ]);
    const live = renderToStaticMarkup(
      <TrainSection
        job={{ state: 'running', progress: { stage: 'training' }, fraction: 0.25 }}
        curve={curve}
        model={null}
        canTrain
        onTrain={noop}
        onCancel={noop}
      />,
    );
    expect(text(live)).toContain('training · 25%');
    expect(live).toContain('aria-valuenow="25"');
    expect(text(live)).toContain('Cancel');
    expect(text(live)).toContain('loss 0.333 val Dice 0.750 iteration 3');
    const loss = /data-series="loss" points="([^"]+)"/.exec(live)![1]!;
    expect(loss.split(' ')).toHaveLength(3);
    const dice = /data-series="dice" points="([^"]+)"/.exec(live)![1]!;
    expect(dice.split(' ')).toHaveLength(3);
    const done = renderToStaticMarkup(
      <TrainSection
        job={{ state: 'succeeded' }}
        curve={curve}
        model={{
          id: 'm7',
          name: 'Cardiac 2026',
          metrics: { bestValDice: 0.91, iterations: 40, stopReason: 'x' },
        }}
        canTrain
        onTrain={noop}
        onCancel={noop}
      />,
    );
    expect(text(done)).toContain('Model Cardiac 2026 · val Dice 0.910 · 40 iterations');
    const learnt = renderToStaticMarkup(
      <TrainSection
        job={{ state: 'succeeded' }}
        curve={[]}
        model={{
          id: 'm8',
          name: 'Cardiac 2027',
          metrics: { iterations: 40, trainSlices: 20, valSlices: 0, unlabelledSlices: 176 },
          encoder: 'none',
        }}
        canTrain
        onTrain={noop}
        onCancel={noop}
      />,
    );
    expect(text(learnt)).toContain(
      'Model Cardiac 2027 · 40 iterations · 20 labelled + 176 unlabelled slices · encoder none',
    );
    expect(text(done)).toContain('Budget');
    // with a model to start from, the budget field suggests the shorter retrain
    expect(inputValue(done, 'nnsam-train-minutes')).toBe('2.5');
    expect(live).not.toContain('data-cy="nnsam-train-minutes"');
    const first = renderToStaticMarkup(
      <TrainSection job={null} curve={[]} model={null} canTrain onTrain={noop} onCancel={noop} />,
    );
    expect(inputValue(first, 'nnsam-train-minutes')).toBe('5');
    const failed = renderToStaticMarkup(
      <TrainSection
        job={{ state: 'failed', error: { message: 'Out of memory.', hint: 'Use fewer slices.' } }}
        curve={[]}
        model={null}
        canTrain={false}
        reason="Add labelled slices first."
        onTrain={noop}
        onCancel={noop}
      />,
    );
    expect(text(failed)).toContain('Out of memory. Use fewer slices.');
    expect(text(failed)).toContain('Add labelled slices first.');
    expect(failed).toMatch(/<button[^>]*disabled=""[^>]*data-cy="nnsam-train-button"/);
  });

  it('names the metrics it knows and skips the others', () => {
    expect(modelMetricsText({ seconds: 61.4, bestValDice: 0.5, device: 'cpu' })).toEqual([
      'val Dice 0.500',
      '61 s',
    ]);
    // what the model learnt from, in one phrase: labelled slices (with those held out for validation)
    // and unlabelled ones
    expect(modelMetricsText({ trainSlices: 20, valSlices: 0, unlabelledSlices: 176 })).toEqual([
      '20 labelled + 176 unlabelled slices',
    ]);
    expect(modelMetricsText({ iterations: 9, trainSlices: 36, valSlices: 5, unlabelledSlices: 0 })).toEqual([
      '9 iterations',
      '41 labelled (5 held out) + 0 unlabelled slices',
    ]);
    // a model from before unlabelled learning records no unlabelledSlices
    expect(modelMetricsText({ trainSlices: 8 })).toEqual(['8 labelled slices']);
    expect(modelMetricsText({ unlabelledSlices: 4, valSlices: 2 })).toEqual([]);
    expect(modelMetricsText({ trainSlices: 8, warmStartFrom: 'mdl-1' })).toEqual([
      '8 labelled slices',
      'continued from the previous model',
    ]);
    expect(modelMetricsText({ trainSlices: 8, warmStartFrom: null })).toEqual(['8 labelled slices']);
  });

  it('needs two loss points before drawing a curve', () => {
    expect(text(renderToStaticMarkup(<LossCurve points={[{ iteration: 1, loss: 1 }]} />))).toMatch(
      /appears after/,
    );
  });

  it('lists result segments with a visibility toggle each, and the series count of a study run', () => {
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
    expect(html).not.toContain('nnsam-label-next');
    const suggested = renderToStaticMarkup(
      <SegmentSection
        job={{ state: 'succeeded' }}
        segments={[{ number: 1, label: 'Liver', visible: true }]}
        canSegment
        onSegment={noop}
        onToggleSegment={noop}
        labelNext={[
          { index: 11, sopInstanceUID: '1.2.3.12', score: 0.874 },
          { index: 2, sopInstanceUID: '1.2.3.3', score: 0.5 },
        ]}
      />,
    );
    expect(text(suggested)).toContain(
      'Label next: the slices the model is least sure of slice 12 · 87 % unsure Go slice 3 · 50 % unsure Go',
    );
    const study = renderToStaticMarkup(
      <SegmentSection
        job={{ state: 'running', progress: { stage: 'inference', done: 5, total: 20 }, done: 1, total: 3 }}
        segments={[]}
        canSegment
        onSegment={noop}
        onToggleSegment={noop}
      />,
    );
    expect(text(study)).toContain('series 2 of 3 · inference · 25%');
  });

  it('lists the slices of the result the user corrected and not yet added, by instance number', () => {
    const html = renderToStaticMarkup(
      <SegmentSection
        job={{ state: 'succeeded' }}
        segments={[{ number: 1, label: 'Liver', visible: true }]}
        canSegment
        onSegment={noop}
        onToggleSegment={noop}
        corrected={[
          { sopInstanceUID: '1.2.3.12', instanceNumber: 12 },
          { sopInstanceUID: '1.2.3.3', instanceNumber: null },
        ]}
      />,
    );
    expect(text(html)).toMatch(
      /Corrected: 2 slices \(I:12, \?\) · not yet added \((&quot;|")Add labelled slices/,
    );
    expect(html).toContain('data-sop-instance-uids="1.2.3.12,1.2.3.3"');
    const none = renderToStaticMarkup(
      <SegmentSection
        job={null}
        segments={[]}
        canSegment
        onSegment={noop}
        onToggleSegment={noop}
        corrected={[]}
      />,
    );
    expect(none).not.toContain('nnsam-corrected');
  });
});
