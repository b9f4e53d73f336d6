// A saved run: the machine it ran on and every suite's rows, notes and rounds, as one JSON file
// under bench/results/ (or --out DIR), so that runs can be compared and drawn later.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import type { BenchResult } from './harness.js';

export const RUN_SCHEMA = 'ebsim-bench-run/1';

export interface MachineInfo {
  cpu: { model: string; cores: number; flags: string[] };
  kernel: string;
  node: string;
  platform: string;
  arch: string;
  /** The XTS engine new ciphers pick here, and the native addon's code path (null: not built). */
  xts: { engine: string | null; path: string | null; reason: string };
  git: { commit: string | null; dirty: boolean | null };
  /** 1-minute load average at the start and end: other work on the machine shows here. */
  loadavg: { start: number; end?: number };
}

export interface SuiteRecord extends BenchResult {
  description: string;
  /** Wall-clock seconds the suite ran. */
  seconds: number;
}

export interface RunRecord {
  schema: typeof RUN_SCHEMA;
  time: string;
  argv: string[];
  quick: boolean;
  /** A smoke run (--smoke): the suites ran, their figures mean nothing. */
  smoke?: boolean;
  matrix: string | null;
  machine: MachineInfo;
  suites: Record<string, SuiteRecord>;
}

/** The CPU flags that decide ciphers' speed, kept first; the whole list follows in cpuinfo's order. */
function cpuInfo(): MachineInfo['cpu'] {
  let model = os.cpus()[0]?.model ?? 'unknown';
  let flags: string[] = [];
  try {
    const text = readFileSync('/proc/cpuinfo', 'utf8');
    model = /^model name\s*:\s*(.+)$/m.exec(text)?.[1]?.trim() ?? model;
    flags = (/^flags\s*:\s*(.+)$/m.exec(text)?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
  } catch {
    // Not Linux: the model from os.cpus() and no flags.
  }
  return { model, cores: os.cpus().length, flags };
}

function gitInfo(cwd: string): MachineInfo['git'] {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
    return { commit, dirty };
  } catch {
    return { commit: null, dirty: null };
  }
}

export async function machineInfo(repoDir: string): Promise<MachineInfo> {
  // Loaded lazily: a machine without the native addon still gets a record.
  let xts: MachineInfo['xts'] = { engine: null, path: null, reason: 'src/xts not loadable' };
  try {
    const { selectedEngine } = await import('../src/xts/index.js');
    const { currentXtsPath } = await import('../src/xts/native.js');
    const sel = selectedEngine();
    xts = { engine: sel.name, path: currentXtsPath(), reason: sel.reason };
  } catch (err) {
    xts.reason = (err as Error).message;
  }
  return {
    cpu: cpuInfo(),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    xts,
    git: gitInfo(repoDir),
    loadavg: { start: os.loadavg()[0]! },
  };
}

/** File name from the time and the suites: sorts by time, says what is inside. */
export function runFileName(run: RunRecord): string {
  const stamp = run.time.replace(/[:.]/g, '-').replace(/-\d{3}Z$/, 'Z');
  const what = Object.keys(run.suites).join('+') || 'empty';
  return `${stamp}-${what}${run.matrix ? `-${run.matrix}` : ''}${run.smoke ? '-smoke' : run.quick ? '-quick' : ''}.json`;
}

export function saveRun(run: RunRecord, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, runFileName(run));
  writeFileSync(file, JSON.stringify(run, null, 1) + '\n');
  return file;
}

/** Reads a saved run, with a clear error for anything else. */
export function loadRun(file: string): RunRecord {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: not a readable JSON file (${(err as Error).message})`);
  }
  const run = data as Partial<RunRecord>;
  if (run?.schema !== RUN_SCHEMA || typeof run.suites !== 'object' || run.suites === null) {
    throw new Error(`${file}: not a saved ebsim bench run (expected "schema": "${RUN_SCHEMA}")`);
  }
  return run as RunRecord;
}
