// Where a file's bytes really are on the device, asked of the file system itself: `filefrag -v`
// (FIEMAP) on a mounted file, or `debugfs -R 'blocks PATH'` on an unmounted ext4 device or
// image. With ext4 on the whole device (no partition), file-system block n sits at byte
// n × block size of the device, and so of the backing image: the sectors to look at.
import { execFileSync } from 'node:child_process';

/** The device's (and the cipher's) sector size. */
const SECTOR = 4096;

/** The device sector holding each 4096-byte piece of a file, in file order. */
export interface FileSectors {
  /** How they were found, for the reader: the command run. */
  how: string;
  blockSize: number;
  sectors: number[];
}

/** A file system tool failed or said something this module does not understand. */
export class FileBlocksError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FileBlocksError';
  }
}

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new FileBlocksError(`${cmd} ${args.join(' ')}: ${(e.stderr || e.message).trim()}`);
  }
}

/** Device sectors from file-system blocks in file order (one entry per block). */
function sectorsOf(blocks: number[], blockSize: number): number[] {
  if (blockSize % SECTOR !== 0) throw new FileBlocksError(`the file system's block size is ${blockSize} bytes; sectors can be located only when it is a multiple of ${SECTOR}`);
  const per = blockSize / SECTOR;
  return blocks.flatMap((b) => Array.from({ length: per }, (_, i) => b * per + i));
}

/**
 * Runs `filefrag -v -s` on a file of a mounted file system (-s syncs the file first, so delayed
 * allocation has given it blocks). Holes in the file are left out: they have no sector.
 */
export function fileSectorsByFilefrag(file: string): FileSectors {
  const out = run('filefrag', ['-v', '-s', file]);
  const bs = /\(\d+ blocks? of (\d+) bytes\)/.exec(out);
  if (!bs) throw new FileBlocksError(`filefrag -v ${file}: no block size in its output`);
  const blockSize = Number(bs[1]);
  const blocks: number[] = [];
  for (const m of out.matchAll(/^\s*\d+:\s+(\d+)\.\.\s*(\d+):\s+(\d+)\.\.\s*(\d+):\s+(\d+):.*$/gm)) {
    const [logical, , physical, , length] = m.slice(1).map(Number) as [number, number, number, number, number];
    if (/unknown|delalloc|encoded|not_aligned/.test(m[0])) throw new FileBlocksError(`filefrag -v ${file}: extent with no fixed place on the device: ${m[0].trim()}`);
    for (let i = 0; i < length; i++) blocks[logical + i] = physical + i;
  }
  if (blocks.length === 0) throw new FileBlocksError(`filefrag -v ${file}: the file has no blocks (empty, or stored inline)`);
  return { how: `filefrag -v ${file}`, blockSize, sectors: sectorsOf(blocks.filter((b) => b !== undefined), blockSize) };
}

/** Runs debugfs (read-only) on an unmounted ext2/3/4 `device` (a block device or an image file) for `pathInFs`. */
export function fileSectorsByDebugfs(device: string, pathInFs: string): FileSectors {
  const stats = run('debugfs', ['-R', 'stats', device]);
  const bs = /^Block size:\s+(\d+)/m.exec(stats);
  if (!bs) throw new FileBlocksError(`debugfs -R stats ${device}: no block size in its output`);
  const blockSize = Number(bs[1]);
  const text = run('debugfs', ['-R', `blocks ${pathInFs}`, device]).trim();
  if (!/^\d+(\s+\d+)*$/.test(text)) throw new FileBlocksError(`debugfs -R 'blocks ${pathInFs}' ${device}: ${text || 'no blocks (empty, or stored inline)'}`);
  return { how: `debugfs -R 'blocks ${pathInFs}' ${device}`, blockSize, sectors: sectorsOf(text.split(/\s+/).map(Number), blockSize) };
}
