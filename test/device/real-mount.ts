// Shared set-up for tests that need a real mount (root, /dev/fuse, losetup, a built daemon).
// Without them the suite is skipped with the reason, unless EBSIM_REQUIRE_FUSE=1, when the
// missing piece fails the run instead.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CallContext } from '../../src/core/call-context.js';
import { makeHome, type TestHome } from '../helpers/home.js';
import { defaultDaemonScript } from '../../src/device/daemon-client.js';
import { findMissingPrerequisite } from '../../src/device/prerequisites.js';
import { cleanupStale, unmountVolume, volumeStatus } from '../../src/device/mount.js';
import { readMounts, listLoopDevices } from '../../src/device/host.js';
import { tempDir } from './helpers.js';

function missingPiece(): string | null {
  const m = findMissingPrerequisite();
  if (m) return m.message;
  try {
    defaultDaemonScript();
  } catch (err) {
    return (err as Error).message;
  }
  return null;
}

export function describeRealMount(name: string, fn: () => void): void {
  const missing = missingPiece();
  if (!missing) return void describe(name, fn);
  if (process.env.EBSIM_REQUIRE_FUSE === '1')
    return void describe(name, () => it('has what real mounts need (EBSIM_REQUIRE_FUSE=1)', () => {
      throw new Error(missing);
    }));
  describe.skip(`${name} [skipped: ${missing}]`, fn);
}

/** Unmounts everything under `stateDir`, healthy or not. */
export async function tearDownAll(stateDir: string): Promise<void> {
  for (const st of await volumeStatus(stateDir)) await unmountVolume(st.volumeId, stateDir).catch(() => {});
  await cleanupStale(stateDir);
}

/** What is still mounted or attached under `root` (should be nothing at the end). */
export function leftovers(root: string): string[] {
  const r = path.resolve(root);
  return [
    ...readMounts().filter((m) => m.target.startsWith(r) || m.source.startsWith(r)).map((m) => `mount ${m.source} on ${m.target}`),
    ...listLoopDevices().filter((l) => l.backingFile.startsWith(r)).map((l) => `loop ${l.device} -> ${l.backingFile}`),
    ...daemonsUnder(r).map((pid) => `daemon pid ${pid}`),
  ];
}

function daemonsUnder(root: string): number[] {
  const pids: number[] = [];
  for (const p of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8');
      if (cmd.includes('daemon.js') && cmd.includes(root)) pids.push(Number(p));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

export function sh(cmd: string, args: string[], opts: { allowFail?: boolean } = {}): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  } catch (err) {
    if (opts.allowFail) return String((err as { stdout?: string }).stdout ?? '');
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${e.stderr || e.message}`);
  }
}

/**
 * The home of a real-mount suite (call inside describeRealMount): made before its tests, with
 * Alice's call context; every mount torn down after each test and at the end, when nothing may be
 * left mounted or attached.
 */
export function realMountHome(prefix: string): { readonly home: TestHome; readonly alice: CallContext } {
  const s = {} as { home: TestHome; alice: CallContext };
  beforeAll(() => {
    s.home = makeHome(prefix);
    s.alice = s.home.app.as('Alice');
  });
  afterEach(async () => {
    await tearDownAll(s.home.app.paths.run);
  });
  afterAll(async () => {
    await tearDownAll(s.home.app.paths.run);
    const left = leftovers(s.home.dir);
    s.home.cleanup();
    expect(left).toEqual([]);
  });
  return s;
}

/**
 * A scratch directory for a real-mount suite without a home (call inside describeRealMount): `root`
 * made before its tests, mounts' state under `stateDir` (root/run); every mount torn down after
 * each test and at the end, when nothing may be left mounted or attached and root is removed.
 */
export function realMountSandbox(prefix: string): { readonly root: string; readonly stateDir: string } {
  const s = { root: '', stateDir: '' };
  beforeAll(() => {
    s.root = tempDir(prefix);
    s.stateDir = path.join(s.root, 'run');
  });
  afterEach(async () => {
    await tearDownAll(s.stateDir);
  });
  afterAll(async () => {
    await tearDownAll(s.stateDir);
    const left = leftovers(s.root);
    fs.rmSync(s.root, { recursive: true, force: true });
    expect(left).toEqual([]);
  });
  return s;
}
