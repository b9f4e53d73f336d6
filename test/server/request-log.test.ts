// The request log writes its lines in few writes: at most every 10 ms, at once when 512 wait,
// and whatever waits on flush (the server's close).
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { RequestLog } from '../../src/server/request-log.js';

const answer = { status: 200, label: 'kms.Decrypt' };

describe('request log', () => {
  it('writes the lines of many requests in one write, soon after', async () => {
    const writes: string[] = [];
    const log = new RequestLog((t) => writes.push(t));
    for (let i = 0; i < 20; i++) log.request('127.0.0.1', answer, `req-${i}`, process.hrtime.bigint());
    expect(writes).toEqual([]);
    await new Promise((r) => setTimeout(r, 50));
    expect(writes).toHaveLength(1);
    const lines = writes[0]!.split('\n');
    expect(lines).toHaveLength(21); // the last is the empty tail after the final newline
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z 127\.0\.0\.1 kms\.Decrypt 200 - \d+\.\d\dms - req-0$/);
    expect(lines[19]).toMatch(/ req-19$/);
  });

  it('writes at once when 512 lines wait, and what waits on flush; a client with no address is "-"', () => {
    const writes: string[] = [];
    const log = new RequestLog((t) => writes.push(t));
    for (let i = 0; i < 512; i++) log.request('127.0.0.1', answer, `r${i}`, process.hrtime.bigint());
    expect(writes).toHaveLength(1);
    log.request('', answer, 'last', process.hrtime.bigint());
    log.error('something broke');
    log.flush();
    expect(writes).toHaveLength(2);
    expect(writes[1]).toMatch(/Z - kms\.Decrypt 200 - .* last\n.*Z error something broke\n$/);
  });

  it('a process that exits without closing it (process.exit) still writes what waits', () => {
    const module = new URL('../../dist/src/server/request-log.js', import.meta.url).pathname;
    const script = `import(${JSON.stringify(module)}).then(({ RequestLog }) => {
      const log = new RequestLog((t) => process.stderr.write(t));
      log.request('127.0.0.1', { status: 200, label: 'kms.Decrypt' }, 'before-exit', process.hrtime.bigint());
      process.exit(0);
    });`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/ 127\.0\.0\.1 kms\.Decrypt 200 - .* before-exit\n$/);
  });
});
