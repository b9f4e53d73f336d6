// `npm run bench -- report RUN.json [--out report.html] [--svg-dir DIR] [--markdown] [--readme README.md]`:
// the HTML page (default: next to RUN.json), each curve as its own SVG file, the "Measured here"
// table on stdout, or written into a README between its markers.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { loadRun } from '../record.js';
import { chartsFor } from './charts.js';
import { renderHtml } from './html.js';
import { measuredHere, replaceMeasuredHere } from './markdown.js';
import { renderChart } from './svg.js';

const USAGE = 'usage: npm run bench -- report RUN.json [--out report.html] [--svg-dir DIR] [--markdown] [--readme README.md]';

export async function reportCommand(argv: string[]): Promise<number> {
  const opts = new Map<string, string | true>();
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--markdown') opts.set('markdown', true);
    else if (a === '--out' || a === '--svg-dir' || a === '--readme') {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value\n${USAGE}`);
      opts.set(a.slice(2), v);
    } else if (a.startsWith('--')) throw new Error(`unknown option ${a}\n${USAGE}`);
    else files.push(a);
  }
  if (files.length !== 1) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const file = files[0]!;
  const run = loadRun(file);
  const readme = opts.get('readme');
  // The block names its source relative to the README, so the test can find it from there.
  const source = typeof readme === 'string' ? relative(resolve(readme, '..'), resolve(file)) : file;
  if (opts.get('markdown')) {
    process.stdout.write(measuredHere(run, source) + '\n');
    return 0;
  }
  if (typeof readme === 'string') {
    writeFileSync(readme, replaceMeasuredHere(readFileSync(readme, 'utf8'), measuredHere(run, source), source));
    process.stderr.write(`[bench] ${readme}: "Measured here" made from ${source}\n`);
    return 0;
  }
  const svgDir = opts.get('svg-dir');
  if (typeof svgDir === 'string') {
    mkdirSync(svgDir, { recursive: true });
    for (const c of chartsFor(run)) writeFileSync(join(svgDir, `${c.id}.svg`), renderChart(c) + '\n');
  }
  const out = (opts.get('out') as string | undefined) ?? file.replace(/\.json$/, '') + '.html';
  writeFileSync(out, renderHtml(run, file));
  process.stderr.write(`[bench] report written to ${out}\n`);
  return 0;
}
