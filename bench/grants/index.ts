// Grants at AWS's limit (issue 17). A customer managed key may hold 50,000 live grants (EBS makes
// one per attached volume). Calls through a grant are measured on keys with 1, 1,000, 10,000 and
// 50,000 live grants, the caller's grant the newest of them, as ratios to the 1-grant key in the
// same run (rounds interleaved, best of each); grant management at 10 against 50,000 live grants,
// calls interleaved. The grants are seeded straight into the store in one transaction; every
// measured call goes through the KMS service, trail record and all.
import { cpus } from 'node:os';
import { EC2_INFRASTRUCTURE_ROLE } from '../../src/iam/service.js';
import { GRANTS_PER_KEY_QUOTA, GrantStore, type NewGrant } from '../../src/kms/grants.js';
import { scaled, type BenchRow, type BenchSuite } from '../harness.js';
import { instanceHost, withBenchHome } from '../in-process-home.js';

const ACCOUNT = '123456789012';
const LEVELS = [1, 1_000, 10_000, GRANTS_PER_KEY_QUOTA];
/** --smoke: the same steps on a key of 300 (seeding 50,000 grants takes seconds); the quota's own refusal is checked in full and quick runs only. */
const SMOKE_LEVELS = [1, 300];
const SMALL = 10;

/** The grant EBS makes for one instance and volume: the instance's infrastructure role, this volume's context only. */
function ebsGrant(keyId: string, i: number): NewGrant {
  return {
    keyId,
    granteePrincipal: `${ACCOUNT}:${EC2_INFRASTRUCTURE_ROLE}:${instanceId(i)}`,
    retiringPrincipal: `arn:aws:iam::${ACCOUNT}:root`, // as EC2 names it (src/ec2/ebs-keys.ts): a principal CreateGrant finds
    issuingAccount: `arn:aws:iam::${ACCOUNT}:root`,
    operations: ['Decrypt', 'Encrypt', 'GenerateDataKey'],
    constraints: { EncryptionContextSubset: { 'aws:ebs:id': volumeId(i) } },
  };
}
const instanceId = (i: number) => `i-${i.toString(16).padStart(17, '0')}`;
const volumeId = (i: number) => `vol-${i.toString(16).padStart(17, '0')}`;

export const suite: BenchSuite = {
  name: 'grants',
  description: 'KMS calls through a grant, and grant management, by live grants on the key',
  async run(ctx) {
    return withBenchHome('ebsim-bench-grants-', (app) => {
      const kms = app.kms();
      const alice = app.as('Alice');
      const store = new GrantStore(app.db, 'us-east-1');
      const newKey = () => (kms.call(alice, 'CreateKey', {}).KeyMetadata as { KeyId: string }).KeyId;
      let next = 1;
      const seed = (keyId: string, n: number) => {
        const t0 = performance.now();
        store.insertMany(Array.from({ length: n }, () => ebsGrant(keyId, next++)));
        return performance.now() - t0;
      };

      // One key per level; the measured instance's grant is created last, through the service.
      ctx.log('seeding grants…');
      let seedMs = 0;
      const me = 0;
      const host = instanceHost(app, instanceId(me));
      const context = { 'aws:ebs:id': volumeId(me) };
      const levels = ctx.smoke ? SMOKE_LEVELS : LEVELS;
      /** The big key's live grants: AWS's quota, except in a smoke run. */
      const top = levels.at(-1)!;
      const targets = levels.map((live) => {
        const keyId = newKey();
        seedMs += seed(keyId, live - 1);
        kms.call(alice, 'CreateGrant', { KeyId: keyId, ...grantRequest(ebsGrant(keyId, me)) });
        const blob = kms.call(alice, 'Encrypt', { KeyId: keyId, Plaintext: Buffer.alloc(64, 7), EncryptionContext: context }).CiphertextBlob as Uint8Array;
        if (store.liveCount(keyId) !== live) throw new Error(`seeding: ${store.liveCount(keyId)} live grants, not ${live}`);
        return { live, keyId, blob };
      });
      // Cross-check before timing: the instance decrypts through its grant; another volume's context is refused.
      for (const t of targets) {
        if (!Buffer.from(kms.call(host, 'Decrypt', { CiphertextBlob: t.blob, EncryptionContext: context }).Plaintext as Uint8Array).equals(Buffer.alloc(64, 7))) throw new Error('decrypt check failed');
        let refused = false;
        try {
          kms.call(host, 'GenerateDataKey', { KeyId: t.keyId, KeySpec: 'AES_256', EncryptionContext: { 'aws:ebs:id': volumeId(1) } });
        } catch (err) {
          refused = (err as { code?: string }).code === 'AccessDeniedException';
        }
        if (!refused) throw new Error('a grant allowed another volume\'s context');
      }

      /** Retires the key's oldest grants (never the measured one, the newest) until `live` are left. */
      const makeRoom = (keyId: string, live: number) => {
        const excess = store.liveCount(keyId) - live;
        if (excess <= 0) return;
        const oldest = kms.call(alice, 'ListGrants', { KeyId: keyId, Limit: excess }).Grants as { GrantId: string }[];
        for (const g of oldest) kms.call(alice, 'RetireGrant', { KeyId: keyId, GrantId: g.GrantId });
      };

      const ops = {
        Decrypt: (t: (typeof targets)[number]) => () => kms.call(host, 'Decrypt', { CiphertextBlob: t.blob, EncryptionContext: context }),
        Encrypt: (t: (typeof targets)[number]) => () => kms.call(host, 'Encrypt', { KeyId: t.keyId, Plaintext: Buffer.alloc(32), EncryptionContext: context }),
        GenerateDataKey: (t: (typeof targets)[number]) => () => kms.call(host, 'GenerateDataKey', { KeyId: t.keyId, KeySpec: 'AES_256', EncryptionContext: context }),
      };
      const ms = scaled(ctx, 300, 100, 2);
      const rounds = scaled(ctx, 9, 5, 1);
      // The clock stops once the trail has every record of the run (the writer is a worker thread).
      const rate = (fn: () => unknown) => {
        const t0 = performance.now();
        let n = 0;
        while (performance.now() - t0 < ms) {
          for (let i = 0; i < 64; i++) fn();
          n += 64;
        }
        app.trail.flush();
        return (n * 1000) / (performance.now() - t0);
      };
      const best = new Map<string, number>();
      const warm = scaled(ctx, 200, 200, 4);
      for (const t of targets) for (const op of Object.values(ops)) for (let i = 0; i < warm; i++) op(t)();
      for (let round = 0; round < rounds; round++) {
        for (const [name, op] of Object.entries(ops)) {
          // Each round starts at another level, so no level always runs first (or last).
          for (const t of targets.map((_, i) => targets[(i + round) % targets.length]!)) {
            ctx.log(`${name} at ${t.live} live grants, round ${round + 1}/${rounds}…`);
            const k = `${name}/${t.live}`;
            best.set(k, Math.max(best.get(k) ?? 0, rate(op(t))));
          }
        }
      }
      // After every change to the key's grants (EC2 attaching and detaching other volumes), the
      // cache starts over: the next call reads the caller's grants again, not the key's 50,000.
      const churn = (t: (typeof targets)[number]) => {
        const dec = ops.Decrypt(t);
        let timed = 0;
        let n = 0;
        const end = performance.now() + ms;
        while (performance.now() < end) {
          const g = kms.call(alice, 'CreateGrant', { KeyId: t.keyId, ...grantRequest(ebsGrant(t.keyId, next++)) });
          kms.call(alice, 'RetireGrant', { KeyId: t.keyId, GrantId: g.GrantId });
          const t0 = performance.now();
          for (let i = 0; i < 16; i++) dec();
          timed += performance.now() - t0;
          n += 16;
        }
        return (n * 1000) / timed;
      };
      // The big key (the quota; 300 in a smoke run) is full: one place free, so each change retires one grant and makes another.
      const big = targets[targets.length - 1]!.keyId;
      makeRoom(big, top - 1);
      const churnBest = new Map<number, number>();
      for (let round = 0; round < rounds; round++) {
        for (const t of round % 2 ? [targets[targets.length - 1]!, targets[0]!] : [targets[0]!, targets[targets.length - 1]!]) {
          ctx.log(`Decrypt after each grant change at ${t.live}, round ${round + 1}/${rounds}…`);
          churnBest.set(t.live, Math.max(churnBest.get(t.live) ?? 0, churn(t)));
        }
      }

      // Grant management: a key with 10 live grants against one with 50,000, calls interleaved.
      const batch = scaled(ctx, 400, 100, 4);
      const small = newKey();
      seed(small, SMALL);
      // Room for the timed CreateGrants, so that the key ends full again.
      makeRoom(big, top - batch);
      const timeEach = (keys: string[], fn: (keyId: string, i: number) => void) => {
        const us = new Map(keys.map((k) => [k, 0]));
        for (let i = 0; i < batch; i++) {
          for (const k of keys) {
            const t0 = performance.now();
            fn(k, i);
            us.set(k, us.get(k)! + (performance.now() - t0) * 1000);
          }
        }
        return keys.map((k) => us.get(k)! / batch);
      };
      ctx.log('CreateGrant…');
      const created = new Map<string, string[]>([[small, []], [big, []]]);
      const createUs = timeEach([small, big], (k) => {
        created.get(k)!.push(kms.call(alice, 'CreateGrant', { KeyId: k, ...grantRequest(ebsGrant(k, next++)) }).GrantId as string);
      });
      // Cross-check: the big key is full now (at the quota in a normal run), and the quota holds.
      if (store.liveCount(big) !== top) throw new Error(`expected ${top} live grants, found ${store.liveCount(big)}`);
      if (top === GRANTS_PER_KEY_QUOTA) {
        let limited = false;
        try {
          kms.call(alice, 'CreateGrant', { KeyId: big, ...grantRequest(ebsGrant(big, next++)) });
        } catch (err) {
          limited = (err as { code?: string }).code === 'LimitExceededException';
        }
        if (!limited) throw new Error('the 50,001st grant was not refused');
      }

      ctx.log('ListGrants…');
      // Every page of the key, 100 at a time: the average page, first to last.
      const walk = (k: string) => {
        let marker: string | undefined;
        let pages = 0;
        let seen = 0;
        const t0 = performance.now();
        do {
          const page = kms.call(alice, 'ListGrants', { KeyId: k, Limit: 100, ...(marker ? { Marker: marker } : {}) });
          seen += (page.Grants as unknown[]).length;
          pages++;
          marker = page.Truncated ? (page.NextMarker as string) : undefined;
        } while (marker);
        return { us: ((performance.now() - t0) * 1000) / pages, pages, seen };
      };
      const walks = { small: walk(small), big: walk(big) };
      if (walks.big.seen !== top || walks.small.seen !== SMALL + batch) throw new Error('ListGrants did not list every live grant once');
      const firstPageUs = timeEach([small, big], (k) => kms.call(alice, 'ListGrants', { KeyId: k, Limit: 100 }));

      ctx.log('RetireGrant…');
      const retireUs = timeEach([small, big], (k, i) => kms.call(alice, 'RetireGrant', { KeyId: k, GrantId: created.get(k)![i]! }));
      for (const k of [small, big]) created.set(k, Array.from({ length: batch }, () => kms.call(alice, 'CreateGrant', { KeyId: k, ...grantRequest(ebsGrant(k, next++)) }).GrantId as string));
      ctx.log('RevokeGrant…');
      const revokeUs = timeEach([small, big], (k, i) => kms.call(alice, 'RevokeGrant', { KeyId: k, GrantId: created.get(k)![i]! }));

      const rows: BenchRow[] = [];
      for (const name of Object.keys(ops)) {
        const one = best.get(`${name}/1`)!;
        for (const live of levels) {
          const r = best.get(`${name}/${live}`)!;
          rows.push({ measure: `${name} through a grant (calls/s)`, 'live grants': live, value: Math.round(r), 'x 1 grant': r / one, target: live === top ? '>= 0.8' : null });
        }
      }
      const churnOne = churnBest.get(1)!;
      const churnBig = churnBest.get(top)!;
      rows.push({ measure: 'Decrypt right after each grant change on the key (calls/s)', 'live grants': 1, value: Math.round(churnOne), 'x 1 grant': 1, target: null });
      rows.push({ measure: 'Decrypt right after each grant change on the key (calls/s)', 'live grants': top, value: Math.round(churnBig), 'x 1 grant': churnBig / churnOne, target: '>= 0.8' });
      const mgmt = (measure: string, [atSmall, atBig]: number[]) => {
        rows.push({ measure, 'live grants': SMALL, value: Math.round(atSmall!), 'x 1 grant': null, target: null });
        rows.push({ measure, 'live grants': top, value: Math.round(atBig!), 'x 1 grant': null, target: `same: ${(atSmall! / atBig!).toFixed(2)}x the cost at ${SMALL}` });
      };
      mgmt('CreateGrant (µs/call)', createUs);
      mgmt('ListGrants, first page of 100 (µs/call)', firstPageUs);
      rows.push({ measure: 'ListGrants, every page of 100 in turn (µs/page)', 'live grants': SMALL + batch, value: Math.round(walks.small.us), 'x 1 grant': null, target: null });
      rows.push({ measure: 'ListGrants, every page of 100 in turn (µs/page)', 'live grants': top, value: Math.round(walks.big.us), 'x 1 grant': null, target: `same: ${(walks.small.us / walks.big.us).toFixed(2)}x the cost at ${SMALL + batch} (${walks.big.pages} pages)` });
      mgmt('RetireGrant (µs/call)', retireUs);
      mgmt('RevokeGrant (µs/call)', revokeUs);
      return {
        rows,
        notes: [
          `CPU: ${cpus()[0]?.model ?? 'unknown'} (${cpus().length} logical)`,
          `${levels.reduce((a, b) => a + b, 0) + SMALL - levels.length} grants seeded into the store in ${(seedMs / 1000).toFixed(1)} s (one transaction per key)`,
          'calls through a grant: best of interleaved rounds; the caller\'s grant is the newest on its key, so a scan of the key\'s grants would read them all',
          'management calls commit (synchronous=FULL), so they include an fsync: the ratio is the figure to read',
        ],
      };
    });
  },
};

function grantRequest(g: NewGrant): Record<string, unknown> {
  return { GranteePrincipal: g.granteePrincipal, RetiringPrincipal: g.retiringPrincipal, Operations: g.operations, Constraints: g.constraints };
}
