// Typed access to fuse-native (CommonJS) and the one extension we need from it.
//
// fuse-native's options are a whitelist that it joins with commas into a single "-o..." argument
// (Fuse#_fuseOptions). big_writes and max_write are not on the list, yet without them the kernel
// sends buffered writes 4 KiB at a time. The clean way in is to subclass and extend that one
// method: libfuse parses the joined string exactly as it would parse "-o" on a command line.
import { createRequire } from 'node:module';

export type Cb<T = void> = T extends void ? (err: number) => void : (err: number, value?: T) => void;

export interface FuseStat {
  mode: number;
  size: number;
  uid?: number;
  gid?: number;
  nlink?: number;
  blksize?: number;
  blocks?: number;
  mtime: Date;
  atime: Date;
  ctime: Date;
}

export interface FuseStatfs {
  bsize: number;
  frsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  favail: number;
  fsid: number;
  flag: number;
  namemax: number;
}

export interface FuseOps {
  init?(cb: (err: number) => void): void;
  getattr(path: string, cb: (err: number, stat?: FuseStat) => void): void;
  fgetattr?(path: string, fd: number, cb: (err: number, stat?: FuseStat) => void): void;
  readdir(path: string, cb: (err: number, names?: string[]) => void): void;
  open(path: string, flags: number, cb: (err: number, fd?: number) => void): void;
  read(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (n: number) => void): void;
  write(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (n: number) => void): void;
  flush(path: string, fd: number, cb: (err: number) => void): void;
  fsync(path: string, datasync: boolean, fd: number, cb: (err: number) => void): void;
  release(path: string, fd: number, cb: (err: number) => void): void;
  truncate(path: string, size: number, cb: (err: number) => void): void;
  ftruncate(path: string, fd: number, size: number, cb: (err: number) => void): void;
  statfs(path: string, cb: (err: number, st?: FuseStatfs) => void): void;
  utimens?(path: string, atime: number, mtime: number, cb: (err: number) => void): void;
  chmod?(path: string, mode: number, cb: (err: number) => void): void;
}

export interface FuseOptions {
  force?: boolean;
  mkdir?: boolean;
  debug?: boolean;
  fsname?: string;
  subtype?: string;
  maxRead?: number;
  attrTimeout?: number;
  entryTimeout?: number;
  /** Per-operation timeout in ms, or false for none. */
  timeout?: number | false;
}

export interface FuseInstance {
  mount(cb: (err: Error | null) => void): void;
  unmount(cb: (err: Error | null) => void): void;
}

interface FuseClass {
  new (mnt: string, ops: FuseOps, opts: FuseOptions): FuseInstance & { _fuseOptions(): string };
  unmount(mnt: string, cb: (err: Error | null) => void): void;
}

let cached: FuseClass | null = null;

/** Loads fuse-native; throws the loader's error (e.g. libfuse.so.2 missing) untouched. */
export function loadFuse(): FuseClass {
  cached ??= createRequire(import.meta.url)('fuse-native') as FuseClass;
  return cached;
}

/** Builds a fuse-native instance whose -o list also carries `extraOptions` (e.g. big_writes). */
export function createFuse(mnt: string, ops: FuseOps, opts: FuseOptions, extraOptions: readonly string[]): FuseInstance {
  const Fuse = loadFuse();
  class TunedFuse extends Fuse {
    override _fuseOptions(): string {
      const base = super._fuseOptions();
      if (extraOptions.length === 0) return base;
      return base ? `${base},${extraOptions.join(',')}` : `-o${extraOptions.join(',')}`;
    }
  }
  return new TunedFuse(mnt, ops, opts);
}
