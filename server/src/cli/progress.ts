/**
 * Shows engine progress: a one-line bar on a terminal, JSON lines with --json (one ProgressEvent per line
 * on stdout), or plain lines now and then when stderr is not a terminal.
 */
import type { ProgressEvent } from '../engine/index.js';

export interface ProgressPrinter {
  (event: ProgressEvent): void;
  /** prints an object as one JSON line in --json mode (plans, results) */
  json(obj: Record<string, unknown>): void;
  end(): void;
}

function bar(fraction: number, width = 24): string {
  const f = Math.min(1, Math.max(0, fraction));
  const full = Math.round(f * width);
  return '[' + '#'.repeat(full) + '-'.repeat(width - full) + ']';
}

export function createProgressPrinter(options: {
  json: boolean;
  stream?: NodeJS.WriteStream;
}): ProgressPrinter {
  const stream = options.stream ?? process.stderr;
  const tty = Boolean(stream.isTTY) && !options.json;
  let lastLine = '';
  let lastPlain = 0;
  let lastValidation = '';

  const show = (text: string, important = false) => {
    if (tty) {
      const cols = stream.columns || 100;
      stream.write('\r' + text.slice(0, cols - 1).padEnd(Math.min(lastLine.length, cols - 1)));
      lastLine = text;
      if (important) {
        stream.write('\n');
        lastLine = '';
      }
      return;
    }
    const now = Date.now();
    if (important || now - lastPlain > 5000) {
      stream.write(text + '\n');
      lastPlain = now;
    }
  };

  const printer = ((ev: ProgressEvent) => {
    if (options.json) {
      process.stdout.write(JSON.stringify(ev) + '\n');
      return;
    }
    switch (ev.type) {
      case 'stage': {
        const counts = ev.total ? ` ${ev.done ?? 0}/${ev.total}` : '';
        const fraction = ev.total ? (ev.done ?? 0) / ev.total : 0;
        const finished = ev.total !== undefined && ev.done === ev.total;
        show(
          `${ev.stage.padEnd(13)} ${ev.total ? bar(fraction) : ''}${counts}${ev.message ? ' ' + ev.message : ''}`,
          finished,
        );
        break;
      }
      case 'iteration': {
        const loss = ev.loss === null ? '-' : ev.loss.toFixed(4);
        show(
          `training      ${bar(ev.fraction)} it ${ev.iteration} loss ${loss} lr ${ev.lr.toExponential(2)} ` +
            `${ev.itPerSec.toFixed(2)} it/s ${Math.round(ev.seconds)} s${lastValidation}`,
        );
        break;
      }
      case 'validation':
        lastValidation =
          ev.dice === null ? '' : ` val Dice ${ev.dice.toFixed(3)} (best ${ev.best?.toFixed(3)})`;
        break;
      case 'warning':
        if (tty && lastLine) stream.write('\n');
        lastLine = '';
        stream.write(`warning: ${ev.message}\n`);
        break;
    }
  }) as ProgressPrinter;
  printer.json = (obj) => {
    if (options.json) process.stdout.write(JSON.stringify(obj) + '\n');
  };
  printer.end = () => {
    if (tty && lastLine) stream.write('\n');
    lastLine = '';
  };
  return printer;
}
