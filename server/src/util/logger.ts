/**
 * Structured logging: one JSON object per line on stderr (machine-readable, grep-able), or a short
 * human line when stderr is a terminal. Never log patient names, IDs or birth dates: log UIDs only
 * where needed and prefer counts and shapes.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; defaults to stderr. Tests pass their own sink to inspect the output. */
  sink?: (line: string) => void;
  json?: boolean;
}

export function createLogger(base: LogFields = {}, options: LoggerOptions = {}): Logger {
  const envLevel = process.env.NNSAM_LOG_LEVEL as LogLevel | undefined;
  const threshold = LEVELS[options.level ?? (envLevel && envLevel in LEVELS ? envLevel : 'info')];
  const json = options.json ?? (process.env.NNSAM_LOG_FORMAT === 'json' || !process.stderr.isTTY);
  const sink = options.sink ?? ((line: string) => process.stderr.write(line + '\n'));

  const write = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (LEVELS[level] < threshold) return;
    const record = { time: new Date().toISOString(), level, msg, ...base, ...fields };
    if (json) {
      sink(JSON.stringify(record, jsonSafe));
    } else {
      const extra = { ...base, ...fields };
      const tail = Object.keys(extra).length ? ' ' + JSON.stringify(extra, jsonSafe) : '';
      sink(`${level.padEnd(5)} ${msg}${tail}`);
    }
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => createLogger({ ...base, ...fields }, options),
  };
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (typeof value === 'bigint') return value.toString();
  return value;
}

export const log = createLogger();
