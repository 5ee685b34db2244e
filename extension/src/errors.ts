/**
 * One error type for everything the viewer side can tell a user: what went wrong (message) and what to do
 * next (hint). Server errors arrive as `{ error: { code, message, hint } }` and become the same type, so
 * the panel and the commands show every failure the same way, as an OHIF notification.
 */
import type { UINotificationService } from './ohif/types.js';

export class ViewerError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  /** HTTP status when the error came from the server. */
  readonly status: number | undefined;

  constructor(
    code: string,
    message: string,
    options: { hint?: string; status?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ViewerError';
    this.code = code;
    this.hint = options.hint;
    this.status = options.status;
  }
}

/** An error as a panel section shows it (and as a job's error arrives from the server). */
export interface ErrorText {
  message: string;
  hint?: string;
}

export function errorText(e: unknown): ErrorText {
  if (e instanceof ViewerError) return { message: e.message, hint: e.hint };
  if (e instanceof Error) return { message: e.message };
  return { message: String(e) };
}

/** Shows an error as an OHIF notification (message, then the hint on its own line). */
export function notifyError(notifications: UINotificationService, title: string, e: unknown): void {
  const { message, hint } = errorText(e);
  notifications.show({
    title,
    message: hint ? `${message}\n${hint}` : message,
    type: 'error',
    duration: 15_000,
  });
}
