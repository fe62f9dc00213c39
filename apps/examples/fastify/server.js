// A Fastify app without @defrost/fastify, in the spirit of Fastify's own examples: routes with
// JSON schemas (validation and fast serialization), an encapsulated plugin with a decorator, a
// hook, and pino logging to a file (LOG_FILE). No defrost code: `defrost checkpoint` freezes it
// as it is; its agent parks the log file across the freeze.

import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';

const bootId = randomUUID();

const fastify = Fastify({
  logger: process.env.LOG_FILE ? { level: 'info', file: process.env.LOG_FILE } : false,
});

const noteSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    title: { type: 'string' },
    tags: { type: 'array', items: { type: 'string' } },
  },
  required: ['id', 'title'],
};

/** The notes, as an encapsulated plugin that decorates its instance with a tiny store. */
async function notes(instance) {
  const store = new Map([
    [1, { id: 1, title: 'Buy milk', tags: ['home'] }],
    [2, { id: 2, title: 'Write the report', tags: ['work', 'urgent'] }],
  ]);
  instance.decorate('notes', store);

  instance.get('/', { schema: { response: { 200: { type: 'array', items: noteSchema } } } }, async () => [
    ...store.values(),
  ]);
  instance.get(
    '/:id',
    {
      schema: {
        params: { type: 'object', properties: { id: { type: 'integer' } } },
        response: { 200: noteSchema },
      },
    },
    async (request, reply) => store.get(request.params.id) ?? reply.code(404).send({ error: 'no such note' }),
  );
  instance.post(
    '/',
    {
      schema: {
        body: {
          type: 'object',
          properties: { title: { type: 'string', minLength: 1 }, tags: noteSchema.properties.tags },
          required: ['title'],
        },
        response: { 201: noteSchema },
      },
    },
    async (request, reply) => {
      const note = { id: store.size + 1, ...request.body };
      store.set(note.id, note);
      return reply.code(201).send(note);
    },
  );
}

// requests seen since the process started
let requests = 0;
fastify.addHook('onRequest', async () => {
  requests++;
});

fastify.get('/', async () => ({ hello: 'world' }));
fastify.get('/stats', async () => ({ bootId, requests }));
fastify.register(notes, { prefix: '/notes' });

try {
  await fastify.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' });
  console.log(`fastify-notes listening (boot ${bootId})`);
} catch (err) {
  fastify.log.error(err);
  process.exit(1);
}
