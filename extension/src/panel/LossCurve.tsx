/**
 * A small live chart for training: loss (left scale, from 0 to its maximum) and validation Dice (right
 * scale, 0..1) against the iteration. Plain SVG in OHIF's theme colours; no chart library.
 */
export interface CurvePoint {
  iteration: number;
  loss: number;
  valDice?: number | null;
}

const W = 240;
const H = 90;
const PAD = { left: 30, right: 28, top: 6, bottom: 16 };

export function LossCurve({ points }: { points: CurvePoint[] }) {
  if (points.length < 2) {
    return <div className="nnsam-muted nnsam-small">The curve appears after the first iterations.</div>;
  }
  const first = points[0]!.iteration;
  const last = points[points.length - 1]!.iteration;
  const maxLoss = Math.max(...points.map((p) => p.loss), 1e-9);
  const x = (it: number) =>
    PAD.left + ((it - first) / Math.max(last - first, 1)) * (W - PAD.left - PAD.right);
  const yLoss = (v: number) => PAD.top + (1 - v / maxLoss) * (H - PAD.top - PAD.bottom);
  const yDice = (v: number) => PAD.top + (1 - v) * (H - PAD.top - PAD.bottom);
  const line = (ps: Array<[number, number]>) =>
    ps.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(' ');
  const loss = line(points.map((p) => [x(p.iteration), yLoss(p.loss)]));
  const dicePoints = points.filter((p) => typeof p.valDice === 'number');
  const dice = line(dicePoints.map((p) => [x(p.iteration), yDice(p.valDice!)]));
  const lastDice = dicePoints[dicePoints.length - 1]?.valDice;
  return (
    <figure style={{ margin: '6px 0 0' }} data-cy="nnsam-loss-curve">
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
        {dicePoints.length > 0 && (
          <polyline
            data-series="dice"
            points={dice}
            fill="none"
            stroke="hsl(142 70% 45%)"
            strokeWidth={1.5}
          />
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
          loss {points[points.length - 1]!.loss.toFixed(3)}
        </span>
        {typeof lastDice === 'number' && (
          <span style={{ color: 'hsl(142 70% 45%)', marginLeft: 8 }}>val Dice {lastDice.toFixed(3)}</span>
        )}
      </figcaption>
    </figure>
  );
}
