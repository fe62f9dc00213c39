// The one way to reach SQLite. Every query goes through this holder, so that the handle can be closed before a
// checkpoint (no open database file, WAL or shared-memory mapping inside the frozen image) and reopened after a
// restore. Prepared statements are cached per connection and prepared again after a reopen.
import Database from 'better-sqlite3';

export class DatabaseClosedError extends Error {
  readonly statusCode = 503;
  constructor(file: string) {
    super(`blog database ${file} is closed (checkpoint in progress?)`);
    this.name = 'DatabaseClosedError';
  }
}

export class BlogDatabase {
  readonly file: string;
  #db: Database.Database | null = null;
  readonly #statements = new Map<string, Database.Statement>();
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
    const db = new Database(this.file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
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

  get connection(): Database.Database {
    if (!this.#db) throw new DatabaseClosedError(this.file);
    return this.#db;
  }

  /** A prepared statement for this SQL, prepared once per connection. */
  statement(sql: string): Database.Statement {
    let stmt = this.#statements.get(sql);
    if (!stmt) {
      stmt = this.connection.prepare(sql);
      this.#statements.set(sql, stmt);
    }
    return stmt;
  }

  transaction<T>(fn: () => T): T {
    return this.connection.transaction(fn)();
  }
}
