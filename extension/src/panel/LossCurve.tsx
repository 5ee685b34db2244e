/**
 * A small live chart for training: loss (left scale, from 0 to its maximum) and validation Dice (right
 * scale, 0..1) against the iteration. Plain SVG in OHIF's theme colours; no chart library.
 */
import type { CurvePoint } from '../workflow/curve.js';

export type { CurvePoint } from '../workflow/curve.js';

const W = 240;
const H = 90;
const PAD = { left: 30, right: 28, top: 6, bottom: 16 };
const DICE_COLOUR = 'hsl(142 70% 45%)';

export function LossCurve({ points }: { points: CurvePoint[] }) {
  const losses = points.filter((p): p is CurvePoint & { loss: number } => typeof p.loss === 'number');
  const dices = points.filter((p): p is CurvePoint & { valDice: number } => typeof p.valDice === 'number');
  if (losses.length < 2) {
    return <div className="nnsam-muted nnsam-small">The curve appears after the first iterations.</div>;
  }
  const first = points[0]!.iteration;
  const last = points[points.length - 1]!.iteration;
  const maxLoss = Math.max(...losses.map((p) => p.loss), 1e-9);
  const x = (it: number) =>
    PAD.left + ((it - first) / Math.max(last - first, 1)) * (W - PAD.left - PAD.right);
  const yLoss = (v: number) => PAD.top + (1 - v / maxLoss) * (H - PAD.top - PAD.bottom);
  const yDice = (v: number) => PAD.top + (1 - v) * (H - PAD.top - PAD.bottom);
  const line = (ps: Array<[number, number]>) =>
    ps.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(' ');
  const loss = line(losses.map((p) => [x(p.iteration), yLoss(p.loss)]));
  const dice = line(dices.map((p) => [x(p.iteration), yDice(p.valDice)]));
  const lastDice = dices[dices.length - 1]?.valDice;
  return (
    <figure style={{ margin: '6px 0 0' }} data-cy="nnsam-loss-curve" data-points={losses.length}>
      <svg viewBox={`0 0 ${W} ${H}`} width="100%" role="img" aria-label="training loss and validation Dice">
        <rect
          x={PAD.left}
          y={PAD.top}
          width={W - PAD.left - PAD.right}
          height={H - PAD.top - PAD.bottom}
          fill="none"
          stroke="hsl(var(--border))"
        />
        <polyline
          data-series="loss"
          points={loss}
          fill="none"
          stroke="hsl(var(--primary))"
          strokeWidth={1.5}
        />
        {dices.length > 0 && (
          <polyline data-series="dice" points={dice} fill="none" stroke={DICE_COLOUR} strokeWidth={1.5} />
        )}
        {dices.length === 1 && (
          <circle cx={x(dices[0]!.iteration)} cy={yDice(dices[0]!.valDice)} r={2} fill={DICE_COLOUR} />
        )}
        <text
          x={PAD.left - 3}
          y={PAD.top + 8}
          fontSize={8}
          textAnchor="end"
          fill="hsl(var(--muted-foreground))"
        >
          {maxLoss.toPrecision(2)}
        </text>
        <text x={W - PAD.right + 3} y={PAD.top + 8} fontSize={8} fill="hsl(var(--muted-foreground))">
          1.0
        </text>
        <text x={PAD.left} y={H - 4} fontSize={8} fill="hsl(var(--muted-foreground))">
          {first}
        </text>
        <text x={W - PAD.right} y={H - 4} fontSize={8} textAnchor="end" fill="hsl(var(--muted-foreground))">
          {last}
        </text>
      </svg>
      <figcaption className="nnsam-small nnsam-muted">
        <span style={{ color: 'hsl(var(--primary))' }}>
          loss {losses[losses.length - 1]!.loss.toFixed(3)}
        </span>
        {typeof lastDice === 'number' && (
          <span style={{ color: DICE_COLOUR, marginLeft: 8 }}>val Dice {lastDice.toFixed(3)}</span>
        )}
        <span style={{ marginLeft: 8 }}>iteration {last}</span>
      </figcaption>
    </figure>
  );
}
