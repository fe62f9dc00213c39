/** HTTP to the example apps on loopback: one fresh connection per request, so copies never share one. */
import { request } from 'undici';

export interface Answer {
  readonly status: number;
  readonly type: string | undefined;
  readonly body: string;
}

export async function get(
  port: number,
  path: string,
  o: {
    readonly method?: 'GET' | 'POST';
    readonly headers?: Record<string, string>;
    readonly body?: string;
  } = {},
): Promise<Answer> {
  const res = await request(`http://127.0.0.1:${port}${path}`, {
    method: o.method ?? 'GET',
    headers: o.headers ?? {},
    ...(o.body !== undefined ? { body: o.body } : {}),
    reset: true,
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  const type = res.headers['content-type'];
  return {
    status: res.statusCode,
    type: typeof type === 'string' ? type : undefined,
    body: await res.body.text(),
  };
}

export async function getJson<T>(port: number, path: string): Promise<T> {
  const answer = await get(port, path);
  if (answer.status !== 200) throw new Error(`GET ${path}: ${answer.status} ${answer.body}`);
  return JSON.parse(answer.body) as T;
}

/** Polls until the server on `port` answers `path` (any status), or throws after `timeoutMs`. */
export async function waitUntilServing(port: number, path = '/', timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await get(port, path);
      return;
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`nothing answers on port ${port}: ${(error as Error).message}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
