import type { ServerConfig } from '../config.js';
import { DicomwebClient } from '../dicom/index.js';
import type { Logger } from '../util/logger.js';

/**
 * The DICOMweb client a request or job uses: the server's own credentials, or the viewer's token when the
 * deployment forwards it (NNSAM_FORWARD_VIEWER_TOKEN). Tokens are never taken from a request otherwise.
 */
export function pacsClient(config: ServerConfig, log: Logger, viewerAuthorization?: string): DicomwebClient {
  const authorization =
    config.dicomweb.forwardViewerToken && viewerAuthorization
      ? viewerAuthorization
      : config.dicomweb.authorization;
  return new DicomwebClient({
    url: config.dicomweb.url,
    ...(authorization ? { authorization } : {}),
    timeoutMs: config.dicomweb.timeoutMs,
    retries: config.dicomweb.retries,
    logger: log,
  });
}
