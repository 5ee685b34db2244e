/**
 * The extension's settings. Each is read, in order, from the extension's own configuration (OHIF monorepo:
 * `[extension, { apiBaseUrl, ... }]`), then `window.config.nnsam` (app-config.js; what the nnSAM server
 * writes for the stock viewer), then the default. Bad values fail at start with a message naming the key.
 */
import { DEFAULT_TRAIN_MINUTES } from '@nnsam/server/api/training-budget';

export const DEFAULT_API_BASE_URL = '/api';

/** Returns the token to send to the nnSAM API (without "Bearer "), or nothing for no Authorization header. */
export type TokenHook = () => string | null | undefined | Promise<string | null | undefined>;

export interface TrainingDefaults {
  /** budget shown in the panel's minutes field */
  minutes: number;
  /** encoder asked for: 'auto' (the server picks MobileSAM when its weights are there), 'none', ... */
  encoder: string;
  /** stop after this many iterations even within the budget (reproducible demos and tests) */
  maxIterations?: number;
}

export interface NnsamViewerConfig {
  apiBaseUrl: string;
  /** a fixed API token (e.g. a kiosk or a demo); prefer getToken for per-user tokens */
  token?: string;
  /** called before every request (e.g. returns the user's OIDC access token) */
  getToken?: TokenHook;
  /** send the OHIF user's access token (userAuthenticationService) when no token or hook is set */
  useOhifUserToken: boolean;
  training: TrainingDefaults;
  /** tta absent: the server decides (its NNSAM_TTA, else per device: mirrored on GPU, not on CPU) */
  segmentation: { tta?: boolean };
}

type Source = Record<string, unknown> | undefined;

export function resolveConfig(configuration: Source, appConfig: Source): NnsamViewerConfig {
  const fromApp = appConfig?.nnsam as Source;
  const pick = (key: string): unknown => configuration?.[key] ?? fromApp?.[key];
  const where = (key: string) => `nnSAM extension: ${key}`;

  const rawBase = pick('apiBaseUrl') ?? DEFAULT_API_BASE_URL;
  if (typeof rawBase !== 'string' || !rawBase.trim()) {
    throw new TypeError(`${where('apiBaseUrl')} must be a non-empty string, got ${JSON.stringify(rawBase)}`);
  }
  const token = pick('token');
  if (token !== undefined && (typeof token !== 'string' || !token.trim())) {
    throw new TypeError(`${where('token')} must be a non-empty string when set, got ${describe(token)}`);
  }
  const getToken = pick('getToken');
  if (getToken !== undefined && typeof getToken !== 'function') {
    throw new TypeError(`${where('getToken')} must be a function when set, got ${describe(getToken)}`);
  }
  const useOhif = pick('useOhifUserToken') ?? true;
  if (typeof useOhif !== 'boolean') {
    throw new TypeError(`${where('useOhifUserToken')} must be true or false, got ${describe(useOhif)}`);
  }
  return {
    apiBaseUrl: rawBase.trim().replace(/\/+$/, ''),
    ...(typeof token === 'string' ? { token: token.trim() } : {}),
    ...(getToken ? { getToken: getToken as TokenHook } : {}),
    useOhifUserToken: useOhif,
    training: trainingDefaults(pick('training')),
    segmentation: segmentationDefaults(pick('segmentation')),
  };
}

function trainingDefaults(raw: unknown): TrainingDefaults {
  if (raw === undefined) return { minutes: DEFAULT_TRAIN_MINUTES, encoder: 'auto' };
  if (typeof raw !== 'object' || raw === null) {
    throw new TypeError(`nnSAM extension: training must be an object, got ${describe(raw)}`);
  }
  const t = raw as Record<string, unknown>;
  const minutes = t.minutes ?? DEFAULT_TRAIN_MINUTES;
  if (typeof minutes !== 'number' || !(minutes > 0)) {
    throw new TypeError(
      `nnSAM extension: training.minutes must be a positive number, got ${describe(minutes)}`,
    );
  }
  const encoder = t.encoder ?? 'auto';
  if (typeof encoder !== 'string' || !encoder) {
    throw new TypeError(`nnSAM extension: training.encoder must be a string, got ${describe(encoder)}`);
  }
  const maxIterations = t.maxIterations;
  if (maxIterations !== undefined && !(Number.isInteger(maxIterations) && (maxIterations as number) > 0)) {
    throw new TypeError(
      `nnSAM extension: training.maxIterations must be a positive whole number, got ${describe(maxIterations)}`,
    );
  }
  return { minutes, encoder, ...(maxIterations ? { maxIterations: maxIterations as number } : {}) };
}

function segmentationDefaults(raw: unknown): { tta?: boolean } {
  const tta = (raw as Record<string, unknown> | null | undefined)?.tta;
  if (tta === undefined) return {};
  if (typeof tta !== 'boolean') {
    throw new TypeError(`nnSAM extension: segmentation.tta must be true or false, got ${describe(tta)}`);
  }
  return { tta };
}

function describe(v: unknown): string {
  return typeof v === 'function' ? 'a function' : JSON.stringify(v);
}
