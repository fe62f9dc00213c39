// Code block templates of the generated corpus, per language. Placeholders: {fn} (an identifier),
// {field} (a field name), {n} (a small number), {m} (a larger number).

export const SNIPPETS: Readonly<Record<string, readonly string[]>> = {
  javascript: [
    `import { readFile } from 'node:fs/promises';

export async function {fn}(path) {
  const started = performance.now();
  const text = await readFile(path, 'utf8');
  const config = JSON.parse(text);
  console.log(\`{fn} took \${(performance.now() - started).toFixed(1)} ms\`);
  return { ...config, retries: config.retries ?? {n} };
}`,
    `const cache = new Map();

function {fn}(key, compute) {
  if (cache.has(key)) return cache.get(key);
  const value = compute(key);
  if (cache.size > {m}) cache.delete(cache.keys().next().value);
  cache.set(key, value);
  return value;
}`,
    `process.on('SIGTERM', async () => {
  server.close();
  await Promise.all(workers.map((w) => w.terminate()));
  process.exitCode = 0;
});

setTimeout(() => process.exit(1), {m}).unref();`,
  ],
  typescript: [
    `interface Options {
  readonly {field}: number;
  readonly timeoutMs?: number;
}

export async function {fn}<T>(task: () => Promise<T>, opts: Options): Promise<T> {
  let attempt = 0;
  for (;;) {
    try {
      return await task();
    } catch (err) {
      if (++attempt >= opts.{field}) throw err;
      await new Promise((r) => setTimeout(r, 2 ** attempt * {n}));
    }
  }
}`,
    `type Result<T, E = Error> = { ok: true; value: T } | { ok: false; error: E };

export function {fn}(input: string): Result<number> {
  const value = Number.parseInt(input, 10);
  return Number.isNaN(value)
    ? { ok: false, error: new Error(\`not a number: \${input}\`) }
    : { ok: true, value: value * {n} };
}`,
    `import Fastify from 'fastify';

const app = Fastify({ logger: true });

app.get('/{field}', async (request, reply) => {
  reply.header('cache-control', 'public, max-age={m}');
  return { {field}: await {fn}(request.query) };
});

await app.listen({ port: 3000 });`,
  ],
  rust: [
    `use std::collections::HashMap;

fn {fn}(words: &[&str]) -> HashMap<String, usize> {
    let mut counts = HashMap::with_capacity({m});
    for word in words {
        *counts.entry(word.to_lowercase()).or_insert(0) += 1;
    }
    counts
}`,
    `#[derive(Debug, Clone)]
pub struct Config {
    pub {field}: u64,
    pub workers: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self { {field}: {m}, workers: {n} }
    }
}`,
  ],
  go: [
    `package main

import (
\t"context"
\t"time"
)

func {fn}(ctx context.Context, jobs <-chan Job) error {
\tctx, cancel := context.WithTimeout(ctx, {n}*time.Second)
\tdefer cancel()
\tfor job := range jobs {
\t\tif err := job.Run(ctx); err != nil {
\t\t\treturn err
\t\t}
\t}
\treturn nil
}`,
    `type Stats struct {
\t{field} int64
\tCount   int
}

func (s *Stats) Add(v int64) {
\ts.{field} += v
\ts.Count++
}`,
  ],
  python: [
    `import time
from functools import lru_cache


@lru_cache(maxsize={m})
def {fn}(key: str) -> dict:
    started = time.perf_counter()
    value = expensive_lookup(key)
    print(f"{fn}({key!r}) took {(time.perf_counter() - started) * 1000:.1f} ms")
    return value`,
    `def percentile(samples, p={n}0):
    ordered = sorted(samples)
    index = min(len(ordered) - 1, int(len(ordered) * p / 100))
    return ordered[index]


print(percentile([12, 15, 11, {m}, 14]))`,
  ],
  java: [
    `public final class {Fn} {
    private final Map<String, Long> {field} = new ConcurrentHashMap<>();

    public long record(String key, long value) {
        return {field}.merge(key, value, Long::sum);
    }

    public static void main(String[] args) {
        var stats = new {Fn}();
        System.out.println(stats.record("requests", {n}));
    }
}`,
    `@Path("/posts")
public class PostResource {
    @GET
    @Produces(MediaType.APPLICATION_JSON)
    public List<Post> latest(@QueryParam("limit") @DefaultValue("{n}") int limit) {
        return repository.findLatest(Math.min(limit, {m}));
    }
}`,
  ],
  sql: [
    `CREATE INDEX IF NOT EXISTS idx_posts_published ON posts (published_at DESC);

EXPLAIN QUERY PLAN
SELECT id, slug, title
FROM posts
WHERE published_at < '2020-01-01'
ORDER BY published_at DESC
LIMIT {n};`,
    `SELECT t.name, COUNT(*) AS posts
FROM tags t
JOIN post_tags pt ON pt.tag_id = t.id
GROUP BY t.id
HAVING COUNT(*) > {n}
ORDER BY posts DESC;`,
    `PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA cache_size = -{m};`,
  ],
  bash: [
    `#!/usr/bin/env bash
set -euo pipefail

for i in $(seq 1 {n}); do
  start=$(date +%s%N)
  curl -fsS -o /dev/null http://127.0.0.1:3000/
  echo "request $i: $(( ($(date +%s%N) - start) / 1000000 )) ms"
done`,
    `# Freeze a running process and bring it back.
mkdir -p /tmp/img
criu dump -t "$PID" -D /tmp/img --shell-job --tcp-established
criu restore -D /tmp/img --shell-job --restore-detached
ls -lh /tmp/img | head -n {n}`,
    `git log --since="{n} weeks ago" --pretty=format:'%h %an %s' \\
  | grep -i "{field}" \\
  | sort | uniq -c | sort -rn | head`,
  ],
  c: [
    `#include <stdio.h>
#include <unistd.h>

int {fn}(int fd) {
    char buf[{m}];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
        perror("read");
        return -1;
    }
    return (int)n;
}`,
  ],
  yaml: [
    `services:
  blog:
    image: blog:latest
    environment:
      PORT: "3000"
      {field}: "{n}"
    deploy:
      replicas: {n}
      resources:
        limits:
          memory: {m}M`,
  ],
  css: [
    `:root {
  --accent: #2f6f9f;
  --measure: {n}0ch;
}

.post {
  max-width: var(--measure);
  margin: 0 auto;
  line-height: 1.6;
}`,
  ],
  json: [
    `{
  "name": "{field}",
  "version": "1.{n}.0",
  "scripts": {
    "build": "tsc -p tsconfig.build.json",
    "start": "node dist/server.js"
  },
  "engines": { "node": ">=20" }
}`,
    `{"level":30,"time":1700000000000,"msg":"request completed","{field}":{n},"responseTime":{m}.5}`,
  ],
};

export const SNIPPET_LANGUAGES = Object.keys(SNIPPETS);
