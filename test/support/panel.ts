/**
 * Fixtures the viewer extension's unit tests share: a project with two classes (values 1 and 3, so a value
 * is not mistaken for a segment index) and a Notices whose notifications are recorded.
 */
import type { Project } from '../../server/src/api/index.js';
import { Notices } from '../../extension/src/workflow/notices.js';

export const HEART_PROJECT: Project = {
  id: 'p1',
  name: 'Heart',
  classes: [
    { value: 1, name: 'RV' },
    { value: 3, name: 'LV' },
  ],
  createdAt: 'now',
  exampleCount: 0,
  latestModelId: null,
};

/** A notification as OHIF's uiNotificationService receives it. */
export interface Told {
  title: string;
  message: string;
  type?: string;
}

/** A Notices that records what the user would be told. */
export function recordingNotices(): { notices: Notices; told: Told[] } {
  const told: Told[] = [];
  const notices = new Notices({ uiNotificationService: { show: (n: Told) => void told.push(n) } });
  return { notices, told };
}
