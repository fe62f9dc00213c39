// Builds the blog: open and migrate the database, seed it on first start, build the search index, compile the
// templates, prime the caches, register the routes and the defrost plugin. Does not listen (see server.ts).
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import defrost from '@defrost/fastify';
import formbody from '@fastify/formbody';
import fastifyStatic from '@fastify/static';
import fastifyView from '@fastify/view';
import Fastify, { type FastifyInstance } from 'fastify';
import { ResponseCache } from './cache.js';
import { DEFAULT_POST_COUNT, DEFAULT_SEED } from './content/corpus.js';
import { MarkdownRenderer } from './content/markdown.js';
import { type BlogContext, loadSiteMeta } from './context.js';
import { BlogDatabase } from './db/connection.js';
import { migrate } from './db/migrations.js';
import { BlogQueries, type CommentMark } from './db/queries.js';
import { seedIfEmpty } from './db/seed.js';
import { evictPagesStaleSince, markComments } from './freshness.js';
import { createLogger } from './logger.js';
import { registerRoutes } from './routes/index.js';
import { SearchIndex } from './search/index.js';
import { type StartupPhase, StartupTimer } from './startup.js';
import { compileTemplates, createTemplateEngine, defaultContext } from './views/index.js';
import { type WarmupRequest, warmupRequests } from './warmup.js';

export const PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url));

export interface BuildAppOptions {
  /** Where the database and (by default) the log file live; created if missing. */
  readonly dataDir: string;
  /** Log file; default `<dataDir>/blog.log`. */
  readonly logFile?: string;
  /** pino level; default `info`. */
  readonly logLevel?: string;
  /** Posts generated when the database is empty; default 3000. Tests use fewer. */
  readonly postCount?: number;
  /** Seed of the corpus generator. */
  readonly corpusSeed?: number;
  /** Absolute origin for feed links (e.g. https://blog.example); default: the request's own origin. */
  readonly siteUrl?: string;
  /** Rendered responses kept in memory; default 5000. */
  readonly cacheEntries?: number;
  /** Rounds of the defrost warm-up before a checkpoint; default: the plugin's (300). Tests use a few. */
  readonly warmupRounds?: number;
}

export interface BlogState {
  readonly ctx: BlogContext;
  readonly dataDir: string;
  readonly dbFile: string;
  readonly logFile: string;
  readonly seeded: boolean;
  readonly startup: readonly StartupPhase[];
  readonly warmup: readonly WarmupRequest[];
}

declare module 'fastify' {
  interface FastifyInstance {
    blog: BlogState;
  }
}

export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const timer = new StartupTimer();
  const dataDir = resolve(options.dataDir);
  const dbFile = join(dataDir, 'blog.db');
  const logFile = resolve(options.logFile ?? join(dataDir, 'blog.log'));
  mkdirSync(dataDir, { recursive: true });

  const log = createLogger(logFile, options.logLevel ?? 'info');
  const app = Fastify({ loggerInstance: log.logger }) as unknown as FastifyInstance;
  // Registered first so that it runs after every other onClose hook: nothing logs into a closed file.
  app.addHook('onClose', () => log.close());

  const db = new BlogDatabase(dbFile);
  try {
    timer.measure('db', () => {
      db.open();
      migrate(db);
    });
    const seed = timer.measure('seed', () =>
      seedIfEmpty(db, {
        postCount: options.postCount ?? DEFAULT_POST_COUNT,
        seed: options.corpusSeed ?? DEFAULT_SEED,
      }),
    );
    const queries = new BlogQueries(db);
    const search = timer.measure('index', () => SearchIndex.build(queries.postsForIndex()));

    const eta = createTemplateEngine();
    const templates = timer.measure('templates', () => compileTemplates(eta));

    const { meta, warmup } = timer.measure('caches', () => {
      const meta = loadSiteMeta(queries);
      return { meta, warmup: warmupRequests(queries, meta) };
    });

    const ctx: BlogContext = {
      db,
      queries,
      markdown: new MarkdownRenderer(),
      search,
      cache: new ResponseCache(options.cacheEntries ?? 5000),
      meta,
      siteUrl: options.siteUrl,
    };

    // `startup` is the timer's own list: the phases still to come are added to it.
    app.decorate('blog', {
      ctx,
      dataDir,
      dbFile,
      logFile,
      seeded: seed.seeded,
      startup: timer.phases,
      warmup,
    } satisfies BlogState);

    await timer.measureAsync('plugins', async () => {
      await app.register(fastifyView, {
        engine: { eta },
        templates: eta.config.views,
        production: true,
        defaultContext,
      });
      await app.register(formbody);
      await app.register(fastifyStatic, { root: PUBLIC_DIR, prefix: '/static/', maxAge: '1h' });
      await app.register(defrost, {
        warmup: {
          requests: warmup,
          ...(options.warmupRounds !== undefined ? { rounds: options.warmupRounds } : {}),
        },
      });
      // No open database file inside a checkpoint image: close before the freeze, reopen after the restore.
      // Statements are prepared again lazily by the holder. The database may have changed in between (an image
      // is restored again and again, onto whatever earlier copies wrote): pages cached before the freeze that
      // show comments written since are evicted (freshness.ts).
      let mark: CommentMark | undefined;
      app.defrost.beforeCheckpoint(() => {
        mark = markComments(ctx);
        app.log.info({ comments: mark }, 'checkpoint: closing the database');
        db.close();
      }, 'blog database');
      app.defrost.afterRestore(() => {
        db.open();
        const evicted = mark ? evictPagesStaleSince(ctx, mark) : undefined;
        app.log.info({ opens: db.opens, evicted }, 'restore: database reopened');
      }, 'blog database');
      app.addHook('onClose', () => db.close());
      registerRoutes(app, ctx);
      await app.ready();
    });

    app.log.info(
      {
        phases: Object.fromEntries(timer.phases.map((p) => [p.name, Math.round(p.ms)])),
        posts: seed.posts,
        seeded: seed.seeded,
        indexedTerms: search.termCount,
        templates,
      },
      'blog built',
    );
    return app;
  } catch (err) {
    db.close();
    await app.close().catch(() => {});
    throw err;
  }
}
