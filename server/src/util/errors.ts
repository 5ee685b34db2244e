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
