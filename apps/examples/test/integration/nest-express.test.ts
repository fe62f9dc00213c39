/**
 * NestJS 11 on Express (@nestjs/platform-express), TypeScript compiled to CommonJS as `nest new`
 * makes it (nest-express/, built by this package's build script), with no defrost code: frozen
 * after the default warm-up, every copy answers as a cold start does, with the warm-up's state.
 */
import { describe, expect, it } from 'vitest';
import { useFrozenApp } from '../helpers/frozen-app.js';
import { get, getJson } from '../helpers/http.js';

interface Stats {
  bootId: string;
  greetings: number;
}

const app = useFrozenApp({
  entry: 'nest-express/dist/main.js',
  sameAsCold: [
    { path: '/' },
    { path: '/cats' },
    { path: '/cats/2' },
    { path: '/cats/abc' },
    { path: '/cats/9' },
    { path: '/nope' },
  ],
});

describe('NestJS on Express (CommonJS), no code change', () => {
  it('checkpoints after the default warm-up, GET /', () => {
    expect(app.run.code, app.run.output).toBe(0);
    expect(app.run.stdout).toContain('Nest application successfully started');
    expect(app.run.stdout).toMatch(/warm-up\s+\d+ requests in 300 rounds/);
  });

  let bootId: string;
  it("a restored copy serves what a cold start serves, with the warm-up's greetings", async () => {
    await app.withCopy(async (port) => {
      const stats = await getJson<Stats>(port, '/stats');
      bootId = stats.bootId;
      expect(stats.greetings).toBeGreaterThan(app.run.warmupRequests);
      await app.expectSameAsCold();
      const created = await get(port, '/cats', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Garfield', age: 7, breed: 'Persian' }),
      });
      expect(created.status).toBe(201);
      expect(JSON.parse(created.body)).toMatchObject({ id: 3, name: 'Garfield' });
    });
  });

  it('a second copy starts from the image again', async () => {
    await app.withCopy(async (port) => {
      expect((await getJson<Stats>(port, '/stats')).bootId).toBe(bootId);
      expect((await get(port, '/cats/3')).status).toBe(404);
      await app.expectSameAsCold();
    });
  });
});
