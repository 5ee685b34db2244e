/**
 * Where the extension finds the nnSAM API. In order: the extension's own configuration (OHIF monorepo:
 * `[extension, { apiBaseUrl }]`), `window.config.nnsam.apiBaseUrl` (what the nnSAM server writes into the
 * stock viewer's app-config.js), else '/api' on the viewer's origin.
 */
export const DEFAULT_API_BASE_URL = '/api';

export interface NnsamViewerConfig {
  apiBaseUrl: string;
}

export function resolveConfig(
  configuration: Record<string, unknown> | undefined,
  appConfig: Record<string, unknown> | undefined,
): NnsamViewerConfig {
  const fromAppConfig = (appConfig?.nnsam as Record<string, unknown> | undefined)?.apiBaseUrl;
  const raw = configuration?.apiBaseUrl ?? fromAppConfig ?? DEFAULT_API_BASE_URL;
  if (typeof raw !== 'string' || !raw.trim()) {
    throw new TypeError(`nnSAM extension: apiBaseUrl must be a non-empty string, got ${JSON.stringify(raw)}`);
  }
  return { apiBaseUrl: raw.trim().replace(/\/+$/, '') };
}
