/** What every route handler is given: configuration, store, queue, services, logger. */
import type { ServerConfig } from '../config.js';
import type { JobQueue } from '../jobs/types.js';
import type { ServerServices } from '../services/index.js';
import type { Store } from '../store/index.js';
import type { Logger } from '../util/logger.js';

export interface AppContext {
  config: ServerConfig;
  store: Store;
  queue: JobQueue;
  services: ServerServices;
  log: Logger;
  version: string;
  /** Viewer tokens kept in memory only, for deployments that forward them to the PACS. */
  forwardedTokens: Map<string, string>;
}
