// Opens the shared SQLite database: WAL so readers never block the writer, a busy timeout so
// concurrent processes queue instead of failing with "database is locked", and synchronous=FULL
// so a committed state change survives a crash of the process or the machine.
import Database from 'better-sqlite3';
import { chmodSync, existsSync } from 'node:fs';
import { MIGRATIONS, SCHEMA, TRAIL_SCHEMA } from './schema.js';
import { noteLocalWrite } from './read-cache.js';

export type Db = Database.Database;

const BUSY_TIMEOUT_MS = 30_000;

/** Opens the state database and attaches the trail database as schema `trail`. */
export function openDatabase(path: string, trailPath: string): Db {
  const isNew = !existsSync(path) || !existsSync(trailPath);
  const db = new Database(path, { timeout: BUSY_TIMEOUT_MS });
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.prepare('ATTACH DATABASE ? AS trail').run(trailPath);
  db.pragma('trail.journal_mode = WAL');
  db.pragma('trail.synchronous = FULL');
  // IMMEDIATE takes the write lock up front, so two processes never both hold a read
  // snapshot and then deadlock upgrading it (SQLITE_BUSY that the timeout cannot resolve).
  immediate(db, () => {
    const before = tablesOf(db);
    const due = MIGRATIONS.filter((m) => before.has(m.ifTable) && ('unlessTable' in m ? !before.has(m.unlessTable) : !hasColumn(db, m.ifTable, m.unlessColumn)));
    db.exec(SCHEMA);
    db.exec(TRAIL_SCHEMA);
    for (const m of due) db.exec(m.sql);
  });
  if (isNew) {
    for (const base of [path, trailPath]) for (const f of [base, `${base}-wal`, `${base}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
  }
  return db;
}

/** The tables of both files, the trail's as `trail.NAME`. */
function tablesOf(db: Db): Set<string> {
  const main = db.prepare("SELECT name FROM main.sqlite_master WHERE type = 'table'").pluck().all() as string[];
  const trail = db.prepare("SELECT 'trail.' || name FROM trail.sqlite_master WHERE type = 'table'").pluck().all() as string[];
  return new Set([...main, ...trail]);
}

/** Whether the table (of the state database) has the column. */
function hasColumn(db: Db, table: string, column: string): boolean {
  return db.prepare('SELECT 1 FROM pragma_table_info(?) WHERE name = ?').get(table, column) !== undefined;
}

/** Runs `fn` in a BEGIN IMMEDIATE transaction (the write lock taken at the start). */
export function immediate<T>(db: Db, fn: () => T): T {
  try {
    return db.transaction(fn).immediate();
  } finally {
    noteLocalWrite(db);
  }
}
