import {
  checkKnownKeys,
  checkObject,
  checkPositiveInt,
  OptionError,
  optionName,
} from '../options/validate.js';
import type { ClientHeaders } from './clients.js';

/** One warm-up request: the same shape in the plugin's options and in `defrost checkpoint --warmup FILE`. */
export interface WarmupRequest {
  readonly method?: string;
  /** Path (and query) on this server, e.g. "/posts/hello?ref=warmup". */
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer | Readonly<Record<string, unknown>>;
  /** Statuses that count as success for this request (default: the plan's `expectStatus`). */
  readonly expectStatus?: readonly number[];
}

export interface WarmupOptions {
  /** Requests per round, or a function of the round number producing them. Default: every
   * parameterless GET route the framework knows (Fastify), or `GET /` (any other server). */
  readonly requests?: readonly WarmupRequest[] | ((round: number) => readonly WarmupRequest[]);
  /** Rounds over the request list (default 300), unless `durationMs` is given. */
  readonly rounds?: number;
  /** Time budget instead of a number of rounds. */
  readonly durationMs?: number;
  /** Requests in flight at once (default 8). */
  readonly concurrency?: number;
  /** Statuses that count as success (default: 200-399). */
  readonly expectStatus?: readonly number[];
  /** Per-request timeout (default 10 s). */
  readonly timeoutMs?: number;
  /** Header sets of the clients to imitate, one per request in turn; a request's own headers win.
   * Default: a few common ones (a browser, curl, an API client, a crawler...; see
   * `DEFAULT_CLIENT_HEADERS`), so that request handling is not optimized for one client's headers
   * only. `[{}]` sends undici's own headers alone. */
  readonly clientHeaders?: readonly ClientHeaders[];
}

const WARMUP_KEYS = [
  'requests',
  'rounds',
  'durationMs',
  'concurrency',
  'expectStatus',
  'timeoutMs',
  'clientHeaders',
];
const REQUEST_KEYS = ['method', 'url', 'headers', 'body', 'expectStatus'];

function checkStatuses(value: unknown, name: string): void {
  if (
    value !== undefined &&
    (!Array.isArray(value) ||
      value.length === 0 ||
      !value.every((s) => Number.isInteger(s) && s >= 100 && s <= 599))
  ) {
    throw new OptionError(`${name} must be a non-empty array of HTTP statuses, got ${JSON.stringify(value)}`);
  }
}

function checkRequest(value: unknown, name: string): void {
  checkObject(value, name);
  checkKnownKeys(value, REQUEST_KEYS, name);
  if (typeof value.url !== 'string' || !value.url.startsWith('/')) {
    throw new OptionError(`${name}.url must be a path starting with "/", got ${JSON.stringify(value.url)}`);
  }
  if (value.method !== undefined && (typeof value.method !== 'string' || !/^[A-Z]+$/.test(value.method))) {
    throw new OptionError(
      `${name}.method must be an HTTP method in capitals, got ${JSON.stringify(value.method)}`,
    );
  }
  checkStatuses(value.expectStatus, `${name}.expectStatus`);
}

function checkClientHeaders(value: unknown, name: string): void {
  const valid =
    value === undefined ||
    (Array.isArray(value) &&
      value.length > 0 &&
      value.every(
        (set) =>
          set !== null &&
          typeof set === 'object' &&
          !Array.isArray(set) &&
          Object.values(set).every((header) => typeof header === 'string'),
      ));
  if (!valid)
    throw new OptionError(
      `${name} must be a non-empty array of header objects with string values (e.g. [{}])`,
    );
}

/** Checks warm-up options as given under `parent` ("warmup" in the plugin, "" in a warm-up file). */
export function checkWarmupOptions(value: unknown, parent: string): asserts value is WarmupOptions {
  const name = (key: string) => optionName(parent, key);
  checkObject(value, parent || 'the warm-up');
  checkKnownKeys(value, WARMUP_KEYS, parent);
  for (const key of ['rounds', 'durationMs', 'concurrency', 'timeoutMs'])
    checkPositiveInt(value[key], name(key));
  const requests = value.requests;
  if (requests !== undefined && typeof requests !== 'function') {
    if (!Array.isArray(requests)) throw new OptionError(`${name('requests')} must be an array or a function`);
    for (const [i, r] of requests.entries()) checkRequest(r, `${name('requests')}[${i}]`);
  }
  checkStatuses(value.expectStatus, name('expectStatus'));
  checkClientHeaders(value.clientHeaders, name('clientHeaders'));
}
