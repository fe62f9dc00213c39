/**
 * Header sets of the clients a public server meets, rotated over the warm-up requests.
 *
 * Node builds each request's `headers` object by adding the incoming headers in the order they
 * came, so its shape is the client's header set. Code that reads headers (Node's HTTP server,
 * Fastify's routing, the app) is optimized for the shapes the warm-up showed it; a client with
 * another shape deoptimizes it, and in a restored copy that happens under its first requests
 * (measured on the demo blog: `parserOnIncoming` and Fastify's `routeHandler` deoptimized at the
 * first request from a client the warm-up had not imitated). With more shapes than V8 tracks one
 * by one, the header reads become generic and no new client throws the code away.
 */
export type ClientHeaders = Readonly<Record<string, string>>;

export const DEFAULT_CLIENT_HEADERS: readonly ClientHeaders[] = [
  // undici's own (host and connection only): API callers, health checks, load generators
  {},
  {
    'user-agent':
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8',
    'accept-encoding': 'gzip, deflate, br, zstd',
    'accept-language': 'en-US,en;q=0.9',
    'sec-fetch-dest': 'document',
    'sec-fetch-mode': 'navigate',
    'sec-fetch-site': 'none',
    'upgrade-insecure-requests': '1',
  },
  { 'user-agent': 'curl/8.5.0', accept: '*/*' },
  {
    'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
    accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    'accept-language': 'en-US,en;q=0.5',
    'accept-encoding': 'gzip, deflate, br',
    dnt: '1',
  },
  { accept: 'application/json', 'user-agent': 'okhttp/4.12.0', 'accept-encoding': 'gzip' },
  {
    'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
    accept: '*/*',
    from: 'googlebot(at)googlebot.com',
  },
];
