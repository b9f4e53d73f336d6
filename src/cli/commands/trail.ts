// `ebsim trail …`: CloudTrail's API (derived from its declarations) and the trail's own views.
import type { Argv } from 'yargs';
import { writeFileSync } from 'node:fs';
import { allRecords, applyRetention, exportTrail, buildDiagram, retentionSettings, setRetention, toMermaid, toSvg, toHtml } from '../../trail/index.js';
import { CLOUDTRAIL_OPERATIONS } from '../../cloudtrail/index.js';
import { declaredCommands } from '../declared-commands.js';
import { CLOUDTRAIL_PAGINATORS } from '../pagination.js';
import type { Runtime } from '../runtime.js';
import { optionalIntegerFlag } from '../integer-flag.js';

export function trailCommand(y: Argv, rt: () => Runtime) {
  return y.command('trail', 'The CloudTrail trail of every call', (c) =>
    declaredCommands(c, CLOUDTRAIL_OPERATIONS, rt, (r, operation, params) => r.open().cloudtrail().call(r.caller(), operation, params), { service: 'trail', paginators: CLOUDTRAIL_PAGINATORS })
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
        'A sequence diagram of the trail: lifelines in boxes that fit their names, one arrow per call labelled with its volume, key and encryption context, the calls of one request grouped (cause first), denied calls marked, a legend; in HTML, click an arrow to read its record',
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
      .command(
        'retention',
        'Keep the trail bounded: records older than --days (default 90), and the oldest past --max-records, are delivered as gzip\'d log files under $EBSIM_HOME/delivered (the export layout), then dropped from the database. Sets the retention if asked, applies it now (`ebsim serve` applies it every minute)',
        (o) =>
          o
            .option('days', { type: 'string', describe: 'keep records this many days (1 to 36500)' })
            .option('max-records', { type: 'string', describe: 'keep at most this many records (0: no cap)' }),
        (a) => {
          const days = optionalIntegerFlag('days', a.days, { min: 1, max: 36500, unit: 'days' });
          const maxRecords = optionalIntegerFlag('max-records', a.maxRecords, { min: 0, max: Number.MAX_SAFE_INTEGER, why: '0: no cap' });
          const r = rt();
          const app = r.open();
          const settings = days === undefined && maxRecords === undefined ? retentionSettings(app.db) : setRetention(app.db, { days, maxRecords });
          // Records still waiting in this process's queue belong in the database before the oldest leave it.
          app.trail.flush();
          const run = applyRetention(app.db, app.paths.delivered);
          r.print({
            RetentionDays: settings.days,
            MaxRecords: settings.maxRecords ?? null,
            Delivered: { Records: run.records, Files: run.files.length, Directory: app.paths.delivered },
          });
        },
      )
      .demandCommand(1, 'Name a trail command (see --help)'),
  );
}
