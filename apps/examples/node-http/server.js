// A plain node:http server that calls an API at start-up, as many small services do: it fetches
// its settings with fetch() (kept alive in fetch's global pool) and exchange rates with http.get
// (kept alive in http.globalAgent) from UPSTREAM_URL before it listens, and serves conversions
// from what it fetched; /refresh fetches the rates again. No defrost code: `defrost checkpoint`
// freezes it as it is, closing both pools' idle connections around the freeze.

import { randomUUID } from 'node:crypto';
import http from 'node:http';

const bootId = randomUUID();
const upstream = process.env.UPSTREAM_URL;
if (!upstream) {
  console.error('node-http-rates: set UPSTREAM_URL to the rates API, e.g. http://127.0.0.1:8080');
  process.exit(2);
}

/** GET a JSON document with node:http (through http.globalAgent, keep-alive). */
function getJson(url) {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`GET ${url}: ${res.statusCode}`));
          else resolve(JSON.parse(body));
        });
      })
      .on('error', reject);
  });
}

const settingsResponse = await fetch(`${upstream}/settings`);
if (!settingsResponse.ok) throw new Error(`GET ${upstream}/settings: ${settingsResponse.status}`);
const settings = await settingsResponse.json();
let rates = await getJson(`${upstream}/rates`);
let conversions = 0;

function send(res, status, value) {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  try {
    if (url.pathname === '/') return send(res, 200, { service: settings.name, base: settings.base });
    if (url.pathname === '/rates') return send(res, 200, rates);
    if (url.pathname === '/convert') {
      const to = url.searchParams.get('to');
      const amount = Number(url.searchParams.get('amount') ?? '1');
      const rate = rates.rates[to];
      if (rate === undefined) return send(res, 400, { error: `unknown currency ${to}` });
      conversions++;
      return send(res, 200, { from: settings.base, to, amount, result: Number((amount * rate).toFixed(4)) });
    }
    if (url.pathname === '/stats') return send(res, 200, { bootId, conversions });
    if (url.pathname === '/refresh' && req.method === 'POST') {
      const fresh = await fetch(`${upstream}/rates`);
      if (!fresh.ok) return send(res, 502, { error: `GET ${upstream}/rates: ${fresh.status}` });
      rates = await fresh.json();
      return send(res, 200, rates);
    }
    send(res, 404, { error: 'not found' });
  } catch (err) {
    send(res, 502, { error: err.message });
  }
});

const port = Number(process.env.PORT ?? 3000);
server.listen(port, '127.0.0.1', () => console.log(`node-http-rates listening on ${port} (boot ${bootId})`));
