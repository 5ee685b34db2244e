/**
 * Starts a private Orthanc (with its DICOMweb plugin) in the foreground from our own configuration:
 * loopback only (RemoteAccessAllowed false, DICOM listener off), a free port, storage in a folder we own.
 * Used by `npm start` (the demo) and by every test that needs a real PACS. Never touches the system service.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { NnsamError } from '../util/errors.js';
import { freePort, waitFor } from '../util/net.js';

const PLUGIN_DIR = process.env.NNSAM_ORTHANC_PLUGINS ?? '/usr/share/orthanc/plugins';
// No GDCM plugin: Orthanc 1.10.1 with Debian's orthanc-gdcm 1.5 segfaults while transcoding in WADO-RS
// (docs/dicom.md). Orthanc's built-in DCMTK transcoder covers what we ask it for.
const PLUGINS = ['libOrthancDicomWeb.so'];

export interface OrthancOptions {
  /** Folder for config, database and log. A fresh temporary folder when omitted (removed on stop). */
  dir?: string;
  port?: number;
  /** Lua scripts Orthanc should load (absolute paths), e.g. the on-stable-study hook. */
  luaScripts?: string[];
  /** Extra configuration merged over ours (e.g. { StableAge: 2 } or Lua globals). */
  extraConfig?: Record<string, unknown>;
  startTimeoutMs?: number;
}

export interface OrthancInstance {
  /** Orthanc's REST root, e.g. http://127.0.0.1:8042 */
  url: string;
  /** DICOMweb root, e.g. http://127.0.0.1:8042/dicom-web */
  dicomWebUrl: string;
  port: number;
  dir: string;
  logFile: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export function orthancBinary(): string {
  const candidates = [process.env.NNSAM_ORTHANC_BIN, '/usr/sbin/Orthanc', '/usr/bin/Orthanc'].filter(
    Boolean,
  ) as string[];
  const found = candidates.find((c) => existsSync(c));
  if (!found) {
    throw new NnsamError('orthanc_missing', 'Orthanc is not installed (looked for /usr/sbin/Orthanc).', {
      status: 503,
      hint: 'Run `npm run setup` (installs the Debian packages orthanc and orthanc-dicomweb).',
    });
  }
  return found;
}

export async function startOrthanc(options: OrthancOptions = {}): Promise<OrthancInstance> {
  const bin = orthancBinary();
  const ownsDir = !options.dir;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'nnsam-orthanc-')));
  await mkdir(join(dir, 'db'), { recursive: true });
  const port = options.port ?? (await freePort());
  const config = {
    Name: 'nnsam-orthanc',
    HttpPort: port,
    DicomServerEnabled: false,
    RemoteAccessAllowed: false,
    AuthenticationEnabled: false,
    StorageDirectory: join(dir, 'db'),
    IndexDirectory: join(dir, 'db'),
    Plugins: PLUGINS.map((p) => join(PLUGIN_DIR, p)).filter((p) => existsSync(p)),
    LuaScripts: options.luaScripts ?? [],
    // Orthanc answers HTTP from several threads; keep the default but make uploads fast in tests.
    StorageCompression: false,
    OverwriteInstances: true,
    DicomWeb: { Enable: true, Root: '/dicom-web/', EnableWado: true, WadoRoot: '/wado', Ssl: false },
    ...options.extraConfig,
  };
  const configPath = join(dir, 'orthanc.json');
  const logFile = join(dir, 'orthanc.log');
  await writeFile(configPath, JSON.stringify(config, null, 2));
  const { openSync, closeSync } = await import('node:fs');
  const fd = openSync(logFile, 'a');
  const child = spawn(bin, [configPath], { stdio: ['ignore', fd, fd] });
  closeSync(fd);

  let exited: number | null = null;
  child.on('exit', (code) => {
    exited = code ?? -1;
  });
  const url = `http://127.0.0.1:${port}`;
  const up = await waitFor(async () => {
    if (exited !== null) return true;
    const res = await fetch(`${url}/system`);
    return res.ok;
  }, options.startTimeoutMs ?? 20_000);
  if (!up || exited !== null) {
    child.kill('SIGKILL');
    const tail = (await readFile(logFile, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n');
    throw new NnsamError(
      'orthanc_start_failed',
      `Orthanc did not start on port ${port}. Last log lines:\n${tail}`,
      {
        status: 503,
      },
    );
  }

  const stop = async () => {
    if (exited === null) {
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await done;
      clearTimeout(timer);
    }
    if (ownsDir) await rm(dir, { recursive: true, force: true });
  };
  return { url, dicomWebUrl: `${url}/dicom-web`, port, dir, logFile, process: child, stop };
}
