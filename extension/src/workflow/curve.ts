/**
 * The training curve from the job's `metrics` events: iteration events carry the loss, validation events
 * the mean validation Dice. One point per event, in iteration order, so the panel draws both lines.
 */
import type { TrainMetrics } from '@nnsam/server/api';

export interface CurvePoint {
  iteration: number;
  loss?: number;
  valDice?: number;
}

/** The curve with one more metrics event (events without a loss or a Dice add nothing). */
export function addMetrics(curve: CurvePoint[], m: TrainMetrics): CurvePoint[] {
  const point: CurvePoint = { iteration: m.iteration };
  if (typeof m.loss === 'number' && Number.isFinite(m.loss)) point.loss = m.loss;
  if (typeof m.valDice === 'number' && Number.isFinite(m.valDice)) point.valDice = m.valDice;
  if (point.loss === undefined && point.valDice === undefined) return curve;
  const next = [...curve, point];
  // events arrive in order; a replay after a reconnect never repeats one (sequence ids), so a plain
  // stable sort by iteration keeps validation points next to their iteration
  if (curve.length && curve[curve.length - 1]!.iteration > point.iteration) {
    next.sort((a, b) => a.iteration - b.iteration);
  }
  return next;
}
