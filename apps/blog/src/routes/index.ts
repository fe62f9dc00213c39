// All routes, plus the HTML 404 and error pages.
import type { FastifyError, FastifyInstance } from 'fastify';
import type { BlogContext } from '../context.js';
import { registerFeedRoutes } from './feeds.js';
import { registerHealthRoutes } from './health.js';
import { registerPageRoutes } from './pages.js';
import { registerPostRoutes } from './posts.js';
import { HTML } from './respond.js';
import { registerSearchRoutes } from './search.js';

export function registerRoutes(app: FastifyInstance, ctx: BlogContext): void {
  registerPageRoutes(app, ctx);
  registerPostRoutes(app, ctx);
  registerSearchRoutes(app, ctx);
  registerFeedRoutes(app, ctx);
  registerHealthRoutes(app, ctx);

  app.setNotFoundHandler(async (request, reply) => {
    const body = await app.view('error', {
      title: 'Not found',
      heading: 'Page not found',
      message: `There is nothing at ${request.url}.`,
    });
    return reply.code(404).type(HTML).send(body);
  });

  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ err: error }, 'bad request');
    const message =
      status === 503
        ? 'The blog is busy for a moment. Please try again.'
        : status >= 500
          ? 'Something went wrong on our side.'
          : error.message;
    try {
      const body = await app.view('error', { title: `Error ${status}`, heading: `Error ${status}`, message });
      return reply.code(status).type(HTML).send(body);
    } catch {
      return reply.code(status).type('text/plain; charset=utf-8').send(message);
    }
  });
}
