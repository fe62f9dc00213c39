import { readFile } from 'node:fs/promises';
import { AUDIT_KINDS, checkWarmupOptions, OptionError, type WarmupOptions } from '@defrost/core/internal';
import { InvalidArgumentError } from 'commander';
import { UsageError } from '../../errors.js';

/**
 * The flags of `defrost checkpoint` and `defrost run` that configure the zero-code agent (what it
 * requests during the warm-up, what the audit may accept, how long to wait), turned into the JSON
 * the agent reads (DEFROST_AGENT). An app that registers @defrost/fastify uses its own options.
 */
export interface AgentFlags {
  /** A JSON file in the plugin's `warmup` format ({ requests: [{ url, method, headers, body }], rounds, ... }). */
  readonly warmup?: string | false;
  /** `--warmup-url PATH`, repeatable: GET requests (the simple case of --warmup). */
  readonly warmupUrl?: readonly string[];
  readonly warmupRounds?: number;
  readonly audit?: readonly [string, string][];
  readonly listenTimeout?: number;
  readonly drainTimeout?: number;
  /** The port of the server to warm up, when the app listens on several. */
  readonly warmupPort?: number;
}

/** `--audit KIND=ACTION`, repeatable. */
export function auditPair(value: string, previous: [string, string][] = []): [string, string][] {
  const [kind, action] = value.split('=');
  if (
    !kind ||
    !action ||
    !(AUDIT_KINDS as readonly string[]).includes(kind) ||
    !['error', 'warn', 'ignore'].includes(action)
  ) {
    throw new InvalidArgumentError(
      `expected KIND=error|warn|ignore with KIND one of ${AUDIT_KINDS.join(', ')} (got "${value}")`,
    );
  }
  return [...previous, [kind, action]];
}

async function warmupFromFile(file: string): Promise<WarmupOptions> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    const why =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new UsageError(
      `--warmup ${file}: ${why}`,
      'give a JSON file such as {"requests":[{"url":"/"}],"rounds":300}',
    );
  }
  try {
    checkWarmupOptions(value, '');
  } catch (error) {
    if (error instanceof OptionError) throw new UsageError(`--warmup ${file}: ${error.message}`);
    throw error;
  }
  return value;
}

/** The agent's settings as JSON, from the flags. */
export async function agentConfig(flags: AgentFlags): Promise<string> {
  let warmup: WarmupOptions | false = {};
  if (flags.warmup === false) warmup = false;
  else if (flags.warmup !== undefined) warmup = await warmupFromFile(flags.warmup);
  if (warmup !== false && flags.warmupUrl && flags.warmupUrl.length > 0) {
    for (const url of flags.warmupUrl) {
      if (!url.startsWith('/'))
        throw new UsageError(`--warmup-url ${url}: give a path starting with /, e.g. /health`);
    }
    warmup = { ...warmup, requests: flags.warmupUrl.map((url) => ({ url })) };
  }
  if (warmup !== false && flags.warmupRounds !== undefined)
    warmup = { ...warmup, rounds: flags.warmupRounds };
  return JSON.stringify({
    warmup,
    ...(flags.audit && flags.audit.length > 0 ? { audit: Object.fromEntries(flags.audit) } : {}),
    ...(flags.listenTimeout !== undefined ? { listenTimeoutMs: Math.round(flags.listenTimeout * 1000) } : {}),
    ...(flags.drainTimeout !== undefined ? { drainTimeoutMs: Math.round(flags.drainTimeout * 1000) } : {}),
    ...(flags.warmupPort !== undefined ? { warmupPort: flags.warmupPort } : {}),
  });
}
