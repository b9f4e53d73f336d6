// The folders tell the architecture: imports flow one way (CLI and server → app → domains →
// store/xts/core), and no module imports itself back through another. Read from the sources.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(__dirname, '..', 'src');

/** A folder's layer: it may import from lower layers and from itself only. */
const LAYER: Record<string, number> = {
  core: 0, errors: 0, xts: 0,
  store: 1, device: 1, policy: 1,
  trail: 2,
  api: 3,
  iam: 4, kms: 4, cloudtrail: 4,
  ec2: 5,
  host: 6,
  app: 7,
  envelope: 8,
  walkthrough: 9, console: 9,
  server: 10,
  cli: 11,
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** Relative imports of each file (type-only imports included: they are still a dependency). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => normalize(join(dirname(file), m[1]!.replace(/\.js$/, '.ts'))));
    graph.set(relative(SRC, file), targets.map((t) => relative(SRC, t)));
  }
  return graph;
}

const folderOf = (file: string) => (file.includes('/') ? file.split('/')[0]! : '.');

describe('architecture', () => {
  const graph = importGraph();

  it('every folder under src/ has a layer', () => {
    const folders = [...new Set([...graph.keys()].map(folderOf))].filter((f) => f !== '.');
    expect(folders.filter((f) => !(f in LAYER))).toEqual([]);
  });

  it('imports flow one way: no folder imports a folder of its own or a higher layer', () => {
    const wrong: string[] = [];
    for (const [file, targets] of graph) {
      const from = folderOf(file);
      for (const t of targets) {
        const to = folderOf(t);
        if (to !== from && !(LAYER[to]! < LAYER[from]!)) wrong.push(`${file} -> ${t}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('has no import cycle', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') return void cycles.push([...path.slice(path.indexOf(file)), file].join(' -> '));
      state.set(file, 'open');
      for (const t of graph.get(file) ?? []) visit(t, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of graph.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });

  it('the check itself sees imports: the CLI imports the app', () => {
    expect(graph.get('cli/runtime.ts')?.some((t) => t.startsWith('app/'))).toBe(true);
  });
});
