/**
 * One error type for everything a user can cause or fix: bad input, missing files, an unreachable PACS.
 * `code` is stable (tests and the API match on it), `message` says what went wrong and where, and
 * `hint` (optional) says what to do next. The HTTP layer maps `status` straight to the response.
 */
export class NnsamError extends Error {
  readonly code: string;
  readonly status: number;
  readonly hint: string | undefined;

  constructor(
    code: string,
    message: string,
    options: { status?: number; hint?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NnsamError';
    this.code = code;
    this.status = options.status ?? 400;
    this.hint = options.hint;
  }
}

export function isNnsamError(e: unknown): e is NnsamError {
  return e instanceof NnsamError;
}

/** The message of any thrown value, for logs and CLI output. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

/**
 * Turns operating-system errors a user can act on (disk full, permissions, read-only file system) into an
 * NnsamError naming the path; anything else is returned unchanged.
 */
export function fromSystemError(e: unknown): unknown {
  const err = e as NodeJS.ErrnoException;
  if (!err || typeof err.code !== 'string') return e;
  const where = err.path ? ` while writing ${err.path}` : '';
  switch (err.code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new NnsamError('disk_full', `No space left on the device${where}.`, {
        status: 507,
        hint: 'Free disk space in the data directory (old models, the embedding cache) and retry.',
        cause: e,
      });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new NnsamError('not_writable', `The server may not write${where} (${err.code}).`, {
        status: 500,
        hint: 'Check the permissions of the data directory.',
        cause: e,
      });
    default:
      return e;
  }
}
