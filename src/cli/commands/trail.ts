import type { Argv } from 'yargs';
import { writeFileSync } from 'node:fs';
import { lookupEvents, allRecords, exportTrail, buildDiagram, toMermaid, toSvg, toHtml, LOOKUP_ATTRIBUTE_KEYS, type LookupAttribute } from '../../trail/index.js';
import { UserError } from '../../errors/index.js';
import type { Runtime } from '../runtime.js';

function parseAttribute(text: string): LookupAttribute {
  const m = /^AttributeKey=([^,]+),AttributeValue=(.*)$/.exec(text);
  if (m) return { AttributeKey: m[1] as LookupAttribute['AttributeKey'], AttributeValue: m[2]! };
  try {
    const j = JSON.parse(text) as LookupAttribute | LookupAttribute[];
    return Array.isArray(j) ? j[0]! : j;
  } catch {
    throw new UserError(`--lookup-attributes: expected AttributeKey=KEY,AttributeValue=VALUE (keys: ${LOOKUP_ATTRIBUTE_KEYS.join(', ')})`);
  }
}

function parseTime(flag: string, v: string | undefined): Date | undefined {
  if (v === undefined) return undefined;
  const d = /^\d+(\.\d+)?$/.test(v) ? new Date(Number(v) * 1000) : new Date(v);
  if (Number.isNaN(d.getTime())) throw new UserError(`--${flag}: not a time: ${v}`);
  return d;
}

export function trailCommand(y: Argv, rt: () => Runtime) {
  return y.command('trail', 'The CloudTrail trail of every call', (c) =>
    c
      .command(
        'lookup-events',
        'Look up events, newest first (the shape of `aws cloudtrail lookup-events`)',
        (o) =>
          o
            .option('lookup-attributes', { type: 'array', string: true, describe: 'AttributeKey=EventName,AttributeValue=Decrypt' })
            .option('start-time', { type: 'string' })
            .option('end-time', { type: 'string' })
            .option('max-results', { type: 'number' })
            .option('next-token', { type: 'string' }),
        (a) => {
          const r = rt();
          const app = r.open();
          r.print(
            lookupEvents(app.db, {
              LookupAttributes: (a['lookup-attributes'] ?? []).map(String).map(parseAttribute),
              StartTime: parseTime('start-time', a['start-time']),
              EndTime: parseTime('end-time', a['end-time']),
              MaxResults: a['max-results'],
              NextToken: a['next-token'],
            }),
          );
        },
      )
      .command('records', 'Print every record as {"Records": [...]}, oldest first, as in a CloudTrail log file', (o) => o, () => {
        const r = rt();
        r.io.out(JSON.stringify({ Records: allRecords(r.open().db) }, null, 2));
      })
      .command(
        'export <dir>',
        'Write the trail as gzip\'d CloudTrail log files (AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/…)',
        (o) => o.positional('dir', { type: 'string', demandOption: true }),
        (a) => {
          const r = rt();
          r.print({ Files: exportTrail(allRecords(r.open().db), a.dir) });
        },
      )
      .command(
        'diagram',
        'A sequence diagram of the trail: one lifeline per principal and service, one arrow per call, denied calls marked',
        (o) => o.option('format', { choices: ['mermaid', 'svg', 'html'] as const, default: 'mermaid' as const }).option('out', { type: 'string', describe: 'write to a file' }),
        (a) => {
          const r = rt();
          const records = allRecords(r.open().db);
          const d = buildDiagram(records);
          const text = a.format === 'mermaid' ? toMermaid(d) : a.format === 'svg' ? toSvg(d) : toHtml(d, records);
          if (a.out) {
            writeFileSync(a.out, text);
            r.print({ Format: a.format, File: a.out, Calls: d.arrows.length, Participants: d.participants });
          } else r.io.out(text);
        },
      )
      .demandCommand(1, 'Name a trail command (see --help)'),
  );
}
