/**
 * Runs the Python trainer (`python -m nnsam_trainer train`) as a child process and turns its JSON lines into
 * typed events. Cancellation: SIGTERM (the trainer stops at the next iteration and exits 3), then SIGKILL
 * after a grace period.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { NnsamError } from '../../util/errors.js';
import { log } from '../../util/logger.js';
import { trainerDir, trainerPython } from '../../util/paths.js';
import { issuesText } from '../../util/zod-issues.js';
import { cancelledError } from '../cancel.js';
import { TrainerLine, TrainerMetrics } from './trainer-output.js';

export { TrainerLine, TrainerMetrics } from './trainer-output.js';

export interface TrainerRunOptions {
  dataDir: string;
  outDir: string;
  minutes?: number;
  maxIterations?: number;
  seed: number;
  device: 'cpu' | 'cuda';
  threads?: number;
  valEvery?: number;
  /** Weights to start from (an earlier model's weights.pt: warm start) */
  init?: string;
  signal?: AbortSignal;
  onLine?: (line: TrainerLine) => void;
  /** ms between SIGTERM and SIGKILL (default 5000) */
  killGraceMs?: number;
}

function trainerEnvVars(): NodeJS.ProcessEnv {
  const path = process.env.PYTHONPATH ? `${trainerDir}:${process.env.PYTHONPATH}` : trainerDir;
  // no __pycache__ written into the installation: the server writes only under its data directory
  // (and no onnxruntime telemetry: see engine/ort-env.ts)
  return {
    ...process.env,
    PYTHONPATH: path,
    PYTHONUNBUFFERED: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    ORT_DISABLE_TELEMETRY: process.env.ORT_DISABLE_TELEMETRY || '1',
  };
}

/** What the trainer's Python sees: torch version and whether CUDA is usable. */
export async function trainerEnvironment(): Promise<{ torch: string; cuda: boolean; devices: string[] }> {
  const python = trainerPython();
  return new Promise((resolve, reject) => {
    const child = spawn(python, ['-m', 'nnsam_trainer', 'env'], { cwd: trainerDir, env: trainerEnvVars() });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(
          new NnsamError(
            'trainer_failed',
            `The trainer's environment check failed: ${err.trim().slice(-500)}`,
          ),
        );
        return;
      }
      resolve(JSON.parse(out));
    });
  });
}

export async function runTrainer(options: TrainerRunOptions): Promise<TrainerLine[]> {
  const python = trainerPython();
  const args = ['-m', 'nnsam_trainer', 'train', '--data', options.dataDir, '--out', options.outDir];
  args.push('--seed', String(options.seed), '--device', options.device);
  if (options.minutes !== undefined) args.push('--minutes', String(options.minutes));
  if (options.maxIterations !== undefined) args.push('--max-iterations', String(options.maxIterations));
  if (options.threads !== undefined) args.push('--threads', String(options.threads));
  if (options.valEvery !== undefined) args.push('--val-every', String(options.valEvery));
  if (options.init !== undefined) args.push('--init', options.init);
  if (options.signal?.aborted) throw cancelledError('Training');

  const child = spawn(python, args, {
    cwd: trainerDir,
    env: trainerEnvVars(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: TrainerLine[] = [];
  let stderrTail = '';
  child.stderr.on('data', (d: Buffer) => {
    stderrTail = (stderrTail + d.toString()).slice(-4000);
  });
  const rl = createInterface({ input: child.stdout });
  const rlClosed = new Promise((r) => rl.once('close', r));
  rl.on('line', (text) => {
    if (!text.trim()) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      log.debug('trainer output', { line: text.slice(0, 200) });
      return;
    }
    const line = TrainerLine.safeParse(parsed);
    if (!line.success) {
      // a line of another trainer version: skipped, named in the log (the lines hold no patient data)
      log.warn('trainer line not understood', { line: text.slice(0, 200), problem: issuesText(line.error) });
      return;
    }
    lines.push(line.data);
    options.onLine?.(line.data);
  });

  let killTimer: NodeJS.Timeout | undefined;
  let cancelled = false;
  const onAbort = () => {
    cancelled = true;
    child.kill('SIGTERM');
    killTimer = setTimeout(() => child.kill('SIGKILL'), options.killGraceMs ?? 5000);
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });

  const exit: { signal: NodeJS.Signals | null } = { signal: null };
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c, s) => {
      exit.signal = s;
      resolve(c);
    });
  }).finally(() => {
    options.signal?.removeEventListener('abort', onAbort);
    if (killTimer) clearTimeout(killTimer);
  });
  await rlClosed;

  if (cancelled) throw cancelledError('Training');
  if (code !== 0) {
    const last = lines.findLast((l) => l.type === 'error');
    if (last?.code === 'out_of_memory') {
      throw new NnsamError('out_of_memory', `Training ran out of memory: ${last.message}`, {
        status: 507,
        hint: 'Free memory on the server, raise NNSAM_TRAINER_MEMORY_MB, or train on fewer or smaller series.',
      });
    }
    const exitSignal = exit.signal;
    if (last?.code === 'disk_full') {
      throw new NnsamError('disk_full', `Training failed: ${last.message}`, {
        status: 507,
        hint: 'Free disk space in the data directory (old models, the embedding cache) and retry.',
      });
    }
    if (!last && exitSignal) {
      // SIGKILL from outside: the kernel's OOM killer, an operator, a container's memory limit
      throw new NnsamError(
        'trainer_killed',
        `Training failed: the trainer process was killed by ${exitSignal}` +
          (exitSignal === 'SIGKILL' ? ' (the system may have run out of memory)' : '') +
          '. Nothing was stored.',
        { status: 500, hint: 'Check the server memory (dmesg shows OOM kills) and retry the job.' },
      );
    }
    const message = last
      ? last.message
      : `the trainer exited with code ${code}: ${stderrTail.trim().slice(-800)}`;
    throw new NnsamError(
      last?.code === 'invalid_training_data' ? 'invalid_training_data' : 'training_failed',
      `Training failed: ${message}`,
      { status: 500, hint: 'The trainer log (stderr) has the details; NNSAM_LOG_LEVEL=debug shows more.' },
    );
  }
  return lines;
}

/** The trainer's metrics.json in `outDir`, checked: a trainer of another version fails here, by name. */
export async function readTrainerMetrics(outDir: string): Promise<TrainerMetrics> {
  const path = join(outDir, 'metrics.json');
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new NnsamError(
      'training_failed',
      `Training failed: the trainer's ${path} is unreadable (${(e as Error).message})`,
    );
  }
  const metrics = TrainerMetrics.safeParse(raw);
  if (!metrics.success) {
    throw new NnsamError('training_failed', `Training failed: the trainer's ${path} is not as expected`, {
      hint: `${issuesText(metrics.error)}. The trainer (server/trainer) and the server must be the same version.`,
    });
  }
  return metrics.data;
}
