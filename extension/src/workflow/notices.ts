/**
 * What the workflow tells the user outside the panel, as OHIF notifications. A failure becomes one through
 * notifyError (errors.ts), the same function the commands' reporting wrapper uses, so every failure reads
 * the same; a success says what was done.
 */
import { errorText, notifyError, type ErrorText } from '../errors.js';
import type { Services } from '../ohif/types.js';

export class Notices {
  /** The services are read at each call: OHIF may hand the extension its services before they all exist. */
  constructor(private readonly services: Pick<Services, 'uiNotificationService'>) {}

  /** Shows an error (title, message, hint) and returns its text for the section that shows it too. */
  report(title: string, e: unknown): ErrorText {
    notifyError(this.services.uiNotificationService, title, e);
    return errorText(e);
  }

  success(title: string, message: string): void {
    this.services.uiNotificationService.show({ title, message, type: 'success', duration: 6000 });
  }
}
