// The one way to reach SQLite. Every query goes through this holder, so that the handle can be closed before a
// checkpoint (no open database file, WAL or shared-memory mapping inside the frozen image) and reopened after a
// restore. Prepared statements are cached per connection and prepared again after a reopen.
//
// SQLite is Node's own (node:sqlite, unflagged since Node 22.13): no native addon to compile per Node version,
// which is what made a fresh install fail where node-gyp cannot download Node's headers.
import { DatabaseSync, type StatementSync } from 'node:sqlite';

export class DatabaseClosedError extends Error {
  readonly statusCode = 503;
  constructor(file: string) {
    super(`blog database ${file} is closed (checkpoint in progress?)`);
    this.name = 'DatabaseClosedError';
  }
}

export class BlogDatabase {
  readonly file: string;
  #db: DatabaseSync | null = null;
  readonly #statements = new Map<string, StatementSync>();
  #opens = 0;

  constructor(file: string) {
    this.file = file;
  }

  get isOpen(): boolean {
    return this.#db !== null;
  }

  /** How many times the handle was opened (1 on a cold start, one more after each restore). */
  get opens(): number {
    return this.#opens;
  }

  open(): void {
    if (this.#db) return;
    const db = new DatabaseSync(this.file);
    db.exec(
      'PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;',
    );
    this.#db = db;
    this.#opens++;
  }

  /** Closes the handle; SQLite folds the WAL back into the database file and removes -wal and -shm. */
  close(): void {
    const db = this.#db;
    if (!db) return;
    this.#statements.clear();
    this.#db = null;
    db.close();
  }

  get connection(): DatabaseSync {
    if (!this.#db) throw new DatabaseClosedError(this.file);
    return this.#db;
  }

  /** A prepared statement for this SQL, prepared once per connection. */
  statement(sql: string): StatementSync {
    let stmt = this.#statements.get(sql);
    if (!stmt) {
      stmt = this.connection.prepare(sql);
      this.#statements.set(sql, stmt);
    }
    return stmt;
  }

  /** Runs `fn` in one transaction: committed when it returns, rolled back when it throws. */
  transaction<T>(fn: () => T): T {
    const db = this.connection;
    db.exec('BEGIN');
    try {
      const result = fn();
      db.exec('COMMIT');
      return result;
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw error;
    }
  }
}
