// $EBSIM_HOME: one directory (0700) holding the database, the root key, credentials,
// volume images and run state. Everything ebsim keeps lives under it.
import { chmodSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { makeDirectories } from '../core/directories.js';

export interface HomePaths {
  dir: string;
  database: string;
  /** The CloudTrail records, in a file of their own (attached to the state database as `trail`). */
  trail: string;
  rootKey: string;
  credentials: string;
  volumes: string;
  run: string;
  logs: string;
  /** The trail's records past its retention, as CloudTrail log files (AWSLogs/…, src/trail/retention.ts). */
  delivered: string;
}

export function resolveHome(explicit?: string): string {
  return resolve(explicit ?? process.env.EBSIM_HOME ?? join(homedir(), '.ebsim'));
}

export function homePaths(dir: string): HomePaths {
  return {
    dir,
    database: join(dir, 'ebsim.db'),
    trail: join(dir, 'trail.db'),
    rootKey: join(dir, 'root.key'),
    credentials: join(dir, 'credentials'),
    volumes: join(dir, 'volumes'),
    run: join(dir, 'run'),
    logs: join(dir, 'logs'),
    delivered: join(dir, 'delivered'),
  };
}

/** Creates the directory tree with owner-only permissions; safe to call from many processes at once. */
export function ensureHome(dir: string): HomePaths {
  const paths = homePaths(dir);
  for (const d of [paths.dir, paths.volumes, paths.run, paths.logs]) {
    makeDirectories(d, 0o700);
    chmodSync(d, 0o700);
  }
  return paths;
}

export function homeExists(dir: string): boolean {
  return existsSync(homePaths(dir).database);
}
