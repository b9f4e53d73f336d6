// `ebsim trail …`: CloudTrail's API (derived from its declarations) and the trail's own views.
import type { Argv } from 'yargs';
import { writeFileSync } from 'node:fs';
import { allRecords, exportTrail, buildDiagram, toMermaid, toSvg, toHtml } from '../../trail/index.js';
import { CLOUDTRAIL_OPERATIONS } from '../../cloudtrail/index.js';
import { declaredCommands } from '../declared-commands.js';
import type { Runtime } from '../runtime.js';

export function trailCommand(y: Argv, rt: () => Runtime) {
  return y.command('trail', 'The CloudTrail trail of every call', (c) =>
    declaredCommands(c, CLOUDTRAIL_OPERATIONS, rt, (r, operation, params) => r.open().cloudtrail().call(r.caller(), operation, params))
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
