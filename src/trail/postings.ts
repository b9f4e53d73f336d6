// The trail's lookup index: for each term (an attribute and value, as LookupEvents asks for it),
// the seqs and times of its records, in chunks of a few hundred, oldest first. It is written a
// commit at a time: one row write per distinct term of the commit (a few hundred for two thousand
// records), where an SQLite index per attribute costs a b-tree insert per attribute per record
// (eight of them took the insert rate to a third).
//
// Terms are per scope, an account and a Region ('123456789012 us-east-1|n:Decrypt'), because
// LookupEvents answers for the caller's account in the Region called, as CloudTrail's event
// history does: a lookup then reads only its own scope's chunks, however big the others are. A
// record is in the scope of the caller's account and, for a call that used another account's
// resource, of that account too (AWS logs such a call in both accounts; a cross-account call
// refused for access only in the caller's); its Region is its awsRegion. trail_scopes lists the
// scopes, for the home-wide views (the console, `ebsim explain`) that look across them all.
//
// Terms within a scope: '*' (every record), 'n:NAME', 's:SOURCE', 'r:0|1' (readOnly), 'y' (has resources), and
// for the attributes with many values (Username, AccessKeyId, ResourceName, EventId) one of 16
// buckets per attribute ('u#7'), each entry carrying the value's 32-bit hash: a commit then
// writes at most 16 terms per attribute, not one per instance session or event ID. Every hit is
// checked against the row, so a bucket's other values (or a hash collision) never show.
//
// A chunk is one row of trail_postings: its term, seq and time range, and its entries, 8 bytes
// each (seq minus the chunk's first seq, event time in epoch seconds) or 12 in a bucket (plus the
// hash). A term's chunks never overlap in seq, so reading them newest first gives its records
// newest first. A term's last chunk is open (it grows, commit after commit, up to one page); full
// chunks are closed and listed in a covering index with their seq and time ranges, so a lookup
// skips chunks by seq and time without reading them, and growing a chunk never touches an index.
//
// Rows written without this index (by an older ebsim on the same home, or before the index
// existed) are found too: trail_index_state holds the indexed seq range [lo, hi], and LookupEvents
// scans whatever is outside it, as it used to scan everything. The index lags the table on
// purpose: a commit indexes the rows above `hi` (its own and any other writer's) only once there
// are INDEX_LAG of them, so each term's open chunk is rewritten once per few thousand records,
// not once per commit (a server commits every 20 ms: a hundred records wrote some eighty chunk
// pages, twice the pages of the records themselves); a lookup scans fewer than INDEX_LAG rows
// above the index (a few ms). Each commit also indexes a slice of the rows below `lo`.
//
// Self-contained on purpose (no imports, no module-level helpers): the background writer's worker
// thread runs this very function from its source text (background-writer.ts).
import type { Database } from 'better-sqlite3';

/**
 * [event_id, event_time, event_source, event_name, username, access_key_id, read_only, resource_names JSON,
 *  awsRegion, recipientAccountId, userIdentity.accountId, errorCode]: trail_events' columns and the record's place.
 */
export type IndexedColumns = readonly [
  string, string, string, string, string | null, string | null, number | null, string,
  string | null, string | null, string | null, string | null,
];

export interface TrailIndexer {
  /**
   * Takes rows this writer just inserted (their seqs ascending), in the caller's transaction; once
   * `lag` rows wait above the index, indexes them and whatever else is not yet indexed.
   */
  commit(rows: readonly (readonly [number, IndexedColumns])[]): void;
}

/** Rows the index may lag the table by (createTrailIndexer's default): what a lookup scans at most above it. */
export const INDEX_LAG = 4000;

/**
 * The indexer of one connection. `backfillPerCommit`: how many of a home's older rows each commit
 * indexes (until none is left); `lag`: INDEX_LAG (0: every commit indexes its rows). Literal
 * defaults: the worker runs this function from its text.
 */
export function createTrailIndexer(db: Database, backfillPerCommit = 2000, lag = 4000 /* INDEX_LAG */): TrailIndexer {
  const MAX_BYTES = 3840; // a chunk row stays within one page: no overflow pages to read or rewrite
  const hash32 = (s: string): number => {
    let h = 0x811c9dc5;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    return h >>> 0;
  };
  let lastIso = '';
  let lastT = 0;
  const epoch = (iso: string): number => {
    if (iso !== lastIso) {
      lastIso = iso;
      lastT = Math.floor(Date.parse(iso) / 1000);
      if (!Number.isFinite(lastT) || lastT < 0) lastT = 0;
    }
    return lastT;
  };
  const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
  const state = db.prepare('SELECT lo, hi, gen FROM trail_index_state WHERE id = 1');
  const setState = db.prepare('UPDATE trail_index_state SET lo = ?, hi = ? WHERE id = 1');
  const minSeq = db.prepare('SELECT min(seq) FROM trail_events').pluck();
  // Rows this connection did not insert: their place read from the stored record, in one
  // json_extract of four paths (a JSON list): a quarter of the cost of four calls, each parsing the record.
  const placed = db.prepare(
    `SELECT seq, event_id, event_time, event_source, event_name, username, access_key_id, read_only, resource_names,
       json_extract(record, '$.awsRegion', '$.recipientAccountId', '$.userIdentity.accountId', '$.errorCode')
     FROM trail_events WHERE seq > ? AND seq < ? ORDER BY seq`,
  ).raw();
  const text = (v: unknown): string | null => (v === null || v === undefined ? null : typeof v === 'string' ? v : JSON.stringify(v));
  const rowsBetween = (above: number, below: number): (readonly [number, IndexedColumns])[] =>
    (placed.all(above, below) as unknown[][]).map((r) => {
      const place = JSON.parse(r[9] as string) as unknown[];
      return [r[0] as number, [...r.slice(1, 9), text(place[0]), text(place[1]), text(place[2]), text(place[3])] as unknown as IndexedColumns] as const;
    });
  const idAt = db.prepare('SELECT event_id FROM trail_events WHERE seq = ?').pluck();
  // Rows this indexer's writer inserted that are not indexed yet, a commit's rows at a time (seq
  // ascending), kept with their columns so the commit that indexes them need not read them back.
  let held: (readonly (readonly [number, IndexedColumns])[])[] = [];
  const addScope = db.prepare('INSERT OR IGNORE INTO trail_scopes (scope) VALUES (?)');
  const scopesStored = db.prepare('SELECT scope FROM trail_scopes').pluck();
  // The scopes already listed (reloaded with the chunk cache: a rolled-back commit's are not).
  let knownScopes = new Set<string>();
  const openChunk = db.prepare('SELECT id, first_seq, last_seq, n, min_t, max_t, entries FROM trail_postings WHERE term = ? AND closed = 0');
  const insertChunk = db.prepare('INSERT INTO trail_postings (term, first_seq, last_seq, min_t, max_t, n, closed, entries) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const updateChunk = db.prepare('UPDATE trail_postings SET last_seq = ?, min_t = ?, max_t = ?, n = ?, closed = ?, entries = ? WHERE id = ?');

  /** A term's entries of one commit, flat: seq, time (and the value's hash, in a bucket). */
  type Pending = number[];
  /** A chunk as stored; `words` holds its entries (room for a full chunk), `n` of them used. */
  interface Chunk { id: number; first_seq: number; last_seq: number; n: number; min_t: number; max_t: number; words: Uint32Array }

  // Each term's open chunk as this connection last wrote it: good while nobody else has written
  // the index since (the state's hi and gen are still what this indexer left).
  let open = new Map<string, Chunk | null>();
  let mark = '';

  const BUCKETS = 16; // bucketTerm's too
  const PREFIXES = ['u', 'a', 'k', 'e'];
  /** One commit's entries by term: '*' and 'y', then by event name, source and readOnly, then by attribute and bucket. */
  const newBatch = () => ({
    all: [] as Pending,
    withResources: [] as Pending,
    names: new Map<string, Pending>(),
    sources: new Map<string, Pending>(),
    readOnly: [[], []] as Pending[],
    buckets: PREFIXES.map(() => new Array<Pending | undefined>(BUCKETS)),
  });
  type Batch = ReturnType<typeof newBatch>;

  /** A resources column is a JSON list of ARNs, nearly always of one: that one without JSON.parse. */
  const resourcesOf = (json: string): unknown[] => {
    if (json.startsWith('["') && json.endsWith('"]') && json.indexOf('"', 2) === json.length - 2 && !json.includes('\\')) return [json.slice(2, -2)];
    try {
      const parsed: unknown = JSON.parse(json);
      return Array.isArray(parsed) ? parsed : [];
    } catch {
      return []; // not a list of ARNs: no resource terms (a scan would still find the row by its column)
    }
  };

  let lastPlace: unknown[] = [];
  let lastScopes: string[] = [];
  /**
   * The scopes a row is in (lookup.ts's scopeKey and scopeCondition say the same): its Region,
   * with the caller's account, and the account whose resource it used unless refused for access.
   */
  const scopesOf = (c: IndexedColumns): string[] => {
    // Nearly every row has the place of the one before: its answer, without building strings.
    const p = lastPlace;
    if (c[8] === p[0] && c[9] === p[1] && c[10] === p[2] && c[11] === p[3]) return lastScopes;
    const region = c[8] || '-';
    const caller = c[10] || c[9] || '-';
    const recipient = c[9];
    lastPlace = [c[8], c[9], c[10], c[11]];
    lastScopes = recipient && recipient !== caller && c[11] !== 'AccessDeniedException' ? [caller + ' ' + region, recipient + ' ' + region] : [caller + ' ' + region];
    return lastScopes;
  };

  const keyed = (map: Map<string, Pending>, value: string, seq: number, t: number) => {
    const p = map.get(value);
    if (p) p.push(seq, t);
    else map.set(value, [seq, t]);
  };
  const bucket = (into: Batch, which: number, value: string, seq: number, t: number) => {
    const h = hash32(value);
    const slots = into.buckets[which]!;
    const p = slots[h & (BUCKETS - 1)];
    if (p) p.push(seq, t, h);
    else slots[h & (BUCKETS - 1)] = [seq, t, h];
  };
  /** The terms of one row (lookup.ts asks for the same). */
  const collect = (into: Batch, seq: number, c: IndexedColumns) => {
    const t = epoch(c[1]);
    into.all.push(seq, t);
    keyed(into.names, c[3], seq, t);
    keyed(into.sources, c[2], seq, t);
    if (c[6] === 0 || c[6] === 1) into.readOnly[c[6]]!.push(seq, t);
    if (c[4]) bucket(into, 0, c[4], seq, t);
    if (c[5]) bucket(into, 1, c[5], seq, t);
    bucket(into, 3, c[0], seq, t);
    if (c[7] !== '[]') {
      const resources = resourcesOf(c[7]);
      if (resources.length > 0) {
        into.withResources.push(seq, t);
        for (const arn of resources.length === 1 ? resources : new Set(resources)) if (typeof arn === 'string') bucket(into, 2, arn, seq, t);
      }
    }
  };

  const bytesOf = (c: Chunk, width: number) => {
    const words = c.words.subarray(0, c.n * width);
    if (littleEndian) return Buffer.from(words.buffer, words.byteOffset, words.byteLength);
    const b = Buffer.alloc(words.length * 4);
    for (let i = 0; i < words.length; i++) b.writeUInt32LE(words[i]!, i * 4);
    return b;
  };
  const wordsOf = (entries: Buffer, cap: number, width: number) => {
    const words = new Uint32Array(cap * width);
    for (let i = 0; i * 4 < entries.length; i++) words[i] = entries.readUInt32LE(i * 4);
    return words;
  };

  /** Appends a term's entries (seqs ascending, above all of its chunks' when `onTop`) to its open chunk, then to new ones. */
  const append = (term: string, p: Pending, width: number, onTop: boolean) => {
    const cap = Math.floor(MAX_BYTES / (width * 4));
    let chunk: Chunk | null = null;
    let isNew = false;
    if (onTop) {
      const known = open.get(term);
      if (known !== undefined) chunk = known;
      else {
        const row = openChunk.get(term) as (Omit<Chunk, 'words'> & { entries: Buffer }) | undefined;
        chunk = row ? { id: row.id, first_seq: row.first_seq, last_seq: row.last_seq, n: row.n, min_t: row.min_t, max_t: row.max_t, words: wordsOf(row.entries, cap, width) } : null;
      }
    }
    const flush = (c: Chunk, closed: boolean, fresh: boolean) => {
      const bytes = bytesOf(c, width);
      if (fresh) c.id = Number(insertChunk.run(term, c.first_seq, c.last_seq, c.min_t, c.max_t, c.n, closed ? 1 : 0, bytes).lastInsertRowid);
      else updateChunk.run(c.last_seq, c.min_t, c.max_t, c.n, closed ? 1 : 0, bytes, c.id);
    };
    for (let i = 0; i < p.length; i += width) {
      const seq = p[i]!;
      const t = p[i + 1]!;
      if (!chunk || chunk.n >= cap || seq - chunk.first_seq > 0xffffffff) {
        if (chunk) flush(chunk, true, isNew); // full (or too far on in seq): closed
        chunk = { id: 0, first_seq: seq, last_seq: seq, n: 0, min_t: t, max_t: t, words: new Uint32Array(cap * width) };
        isNew = true;
      }
      const o = chunk.n * width;
      chunk.words[o] = seq - chunk.first_seq;
      chunk.words[o + 1] = t;
      if (width === 3) chunk.words[o + 2] = p[i + 2]!;
      chunk.n++;
      chunk.last_seq = seq;
      if (t < chunk.min_t) chunk.min_t = t;
      if (t > chunk.max_t) chunk.max_t = t;
    }
    if (!chunk) return;
    // Chunks below the others (a home's older rows) are closed at once; the top one stays open.
    const closed = !onTop || chunk.n >= cap;
    flush(chunk, closed, isNew);
    if (onTop) open.set(term, closed ? null : chunk);
  };

  const write = (rows: Iterable<readonly [number, IndexedColumns]>, onTop: boolean) => {
    // Nearly always one scope a commit: its batch is kept at hand.
    const batches = new Map<string, Batch>();
    let lastScope = '';
    let last: Batch | undefined;
    for (const row of rows) {
      const seq = row[0];
      const c = row[1];
      for (const scope of scopesOf(c)) {
        if (scope !== lastScope) {
          last = batches.get(scope);
          if (!last) batches.set(scope, (last = newBatch()));
          lastScope = scope;
        }
        collect(last!, seq, c);
      }
    }
    for (const [scope, batch] of batches) {
      if (!knownScopes.has(scope)) {
        addScope.run(scope);
        knownScopes.add(scope);
      }
      const at = scope + '|';
      if (batch.all.length) append(at + '*', batch.all, 2, onTop);
      if (batch.withResources.length) append(at + 'y', batch.withResources, 2, onTop);
      for (const [name, p] of batch.names) append(at + 'n:' + name, p, 2, onTop);
      for (const [source, p] of batch.sources) append(at + 's:' + source, p, 2, onTop);
      batch.readOnly.forEach((p, v) => p.length && append(at + 'r:' + v, p, 2, onTop));
      batch.buckets.forEach((slots, which) => {
        for (let b = 0; b < BUCKETS; b++) if (slots[b]) append(at + PREFIXES[which] + '#' + b, slots[b]!, 3, onTop);
      });
    }
  };

  /**
   * The rows in (above, top]: the held commits still stored as they were written, the others read
   * from the table. A commit's rows are one transaction's, at consecutive seqs: stored whole or
   * not at all (rolled back, their seqs perhaps another writer's since), which its first and last
   * event IDs tell.
   */
  const rowsToIndex = (above: number, top: number) => {
    const out: (readonly [number, IndexedColumns])[] = [];
    let at = above;
    for (const rows of held) {
      const first = rows[0]![0];
      const last = rows[rows.length - 1]![0];
      if (first <= at || last > top || last - first + 1 !== rows.length) continue;
      if (idAt.get(first) !== rows[0]![1][0] || idAt.get(last) !== rows[rows.length - 1]![1][0]) continue;
      if (first > at + 1) out.push(...rowsBetween(at, first));
      for (const r of rows) out.push(r);
      at = last;
    }
    if (top > at) out.push(...rowsBetween(at, top + 1));
    return out;
  };

  return {
    commit(rows) {
      const s = state.get() as { lo: number; hi: number; gen: number } | undefined;
      if (!s) return;
      // Until this commit has written everything, the cache is not to be trusted (a failed
      // statement leaves chunks changed in memory only).
      if (`${s.hi}/${s.gen}` !== mark) {
        open = new Map();
        knownScopes = new Set(scopesStored.all() as string[]);
      }
      mark = '';
      let { lo, hi } = s;
      const mine = rows.filter((r) => r[0] > hi);
      if (mine.length) {
        // Held commits at or above this one's seqs were rolled back (their seqs are used again).
        const first = mine[0]![0];
        while (held.length && held[held.length - 1]!.at(-1)![0] >= first) held.pop();
        held.push(mine);
      }
      // Indexed once `lag` rows wait above the index (whoever wrote them): LookupEvents scans fewer than that.
      const top = mine.length ? mine[mine.length - 1]![0] : hi;
      if (top > hi && top - hi >= lag) {
        write(rowsToIndex(hi, top), true);
        hi = top;
      }
      if (held.length && held[0]![0]![0] <= hi) held = held.filter((c) => c.at(-1)![0] > hi);
      // A slice of the rows from before the index, in closed chunks below every other.
      if (backfillPerCommit > 0) {
        const oldest = minSeq.get() as number | null;
        if (oldest !== null && lo > oldest) {
          const from = Math.max(oldest, lo - backfillPerCommit);
          write(rowsBetween(from - 1, lo), false);
          lo = from;
        }
      }
      if (lo !== s.lo || hi !== s.hi) setState.run(lo, hi);
      mark = `${hi}/${s.gen}`;
    },
  };
}

/** FNV-1a, 32 bits: the hash createTrailIndexer gives a bucketed value (its copy is inside it). */
export function valueHash(value: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) h = Math.imul(h ^ value.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Buckets per attribute: fewer terms a commit writes, more entries a rare value's lookup reads (16: a commit of 2,000 records writes about 80 terms; an EventId lookup over 10,000,000 records reads 625,000 entries). */
const BUCKETS = 16;

/** The term of a bucketed attribute value (u: Username, a: AccessKeyId, k: ResourceName, e: EventId), and the hash its entries carry. */
export function bucketTerm(prefix: 'u' | 'a' | 'k' | 'e', value: string): { term: string; hash: number } {
  const hash = valueHash(value);
  return { term: `${prefix}#${hash & (BUCKETS - 1)}`, hash };
}

/** The bytes of one entry in a term's chunks (its part after the scope): bucketed terms carry the value's hash. */
export function strideOfTerm(term: string): number {
  return /^[uake]#\d+$/.test(term) ? 12 : 8;
}

/** A scope's name, as the indexer writes it: the account and the Region. */
export function scopeKey(account: string, region: string): string {
  return `${account} ${region}`;
}

/** A term of one scope. */
export function scopedTerm(scope: string, term: string): string {
  return `${scope}|${term}`;
}
