// In-memory cache of rendered responses (pages and feeds), least recently used first out. A warm-up over HTTP
// fills it; a new comment evicts the page of its post.
export interface CachedResponse {
  readonly body: string;
  readonly contentType: string;
  readonly statusCode: number;
}

export interface CacheStats {
  readonly entries: number;
  readonly hits: number;
  readonly misses: number;
  readonly bytes: number;
}

export class ResponseCache {
  readonly #max: number;
  readonly #entries = new Map<string, CachedResponse>();
  #hits = 0;
  #misses = 0;
  #bytes = 0;

  constructor(maxEntries: number) {
    this.#max = maxEntries;
  }

  get(key: string): CachedResponse | undefined {
    const hit = this.#entries.get(key);
    if (!hit) {
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    // Refresh recency: Map iteration order is insertion order.
    this.#entries.delete(key);
    this.#entries.set(key, hit);
    return hit;
  }

  set(key: string, value: CachedResponse): void {
    this.delete(key);
    this.#entries.set(key, value);
    this.#bytes += value.body.length;
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value as string;
      this.delete(oldest);
    }
  }

  delete(key: string): void {
    const old = this.#entries.get(key);
    if (!old) return;
    this.#bytes -= old.body.length;
    this.#entries.delete(key);
  }

  /** Removes every entry whose key starts with this prefix. */
  deletePrefix(prefix: string): void {
    for (const key of [...this.#entries.keys()]) if (key.startsWith(prefix)) this.delete(key);
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  stats(): CacheStats {
    return { entries: this.#entries.size, hits: this.#hits, misses: this.#misses, bytes: this.#bytes };
  }
}
