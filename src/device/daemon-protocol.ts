// What the parent and the device daemon say to each other. The config travels in argv (it holds
// no secret); the 64-byte key travels only over the IPC channel (or stdin), never argv, env or disk.

export interface DaemonConfig {
  volumeId: string;
  imagePath: string;
  sizeBytes: number;
  sectorSize: 4096;
  /** Directory where FUSE serves the decrypted device as `disk`. */
  fuseDir: string;
  logPath: string;
  pidFile: string;
  /** Bench-only: serve the image without encryption (the ceiling of the FUSE path). */
  passThrough?: boolean;
  /** Bench-only, with passThrough: 'js' (synchronous pread/pwrite on the JS thread, the default) or 'native' (the encrypted path's threaded, mapped I/O). */
  passThroughIO?: 'js' | 'native';
  /** Also copy log lines to stderr (foreground mode). */
  logToStderr?: boolean;
}

export type ParentMessage = { type: 'key'; key: Uint8Array | null };

export type DaemonMessage =
  | { type: 'ready'; pid: number; devicePath: string; codec: string }
  | { type: 'error'; message: string };

export const CONFIG_ARG = '--config=';
