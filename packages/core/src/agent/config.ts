import type { AuditPolicy } from '../audit/types.js';
import { checkKnownKeys, checkObject, checkPositiveInt, OptionError } from '../options/validate.js';
import { checkWarmupOptions, type WarmupOptions } from '../warmup/options.js';

/** What `defrost checkpoint` tells the zero-code agent (DEFROST_AGENT, JSON made from its flags). */
export interface AgentConfig {
  /** The warm-up (the plugin's `warmup` format); false: none. Default: GET / as several clients. */
  readonly warmup: WarmupOptions | false;
  readonly audit: AuditPolicy | undefined;
  /** How long to wait for the app to listen before giving up with a clear error (default 30 s). */
  readonly listenTimeoutMs: number;
  readonly drainTimeoutMs: number;
  /** The port of the server to warm up, when the app listens on several (default: the last). */
  readonly warmupPort: number | undefined;
}

export const DEFAULT_LISTEN_TIMEOUT_MS = 30_000;

/** Parses DEFROST_AGENT; a malformed one is an OptionError naming what is wrong. */
export function parseAgentConfig(text: string | undefined): AgentConfig {
  const value: unknown = text ? JSON.parse(text) : {};
  checkObject(value, 'DEFROST_AGENT');
  checkKnownKeys(value, ['warmup', 'audit', 'listenTimeoutMs', 'drainTimeoutMs', 'warmupPort'], '');
  checkPositiveInt(value.warmupPort, 'warmupPort');
  if (value.warmup !== undefined && value.warmup !== false) checkWarmupOptions(value.warmup, 'warmup');
  checkPositiveInt(value.listenTimeoutMs, 'listenTimeoutMs');
  checkPositiveInt(value.drainTimeoutMs, 'drainTimeoutMs');
  if (value.audit !== undefined) checkObject(value.audit, 'audit');
  return {
    warmup: (value.warmup as WarmupOptions | false | undefined) ?? {},
    audit: value.audit as AuditPolicy | undefined,
    listenTimeoutMs: (value.listenTimeoutMs as number | undefined) ?? DEFAULT_LISTEN_TIMEOUT_MS,
    drainTimeoutMs: (value.drainTimeoutMs as number | undefined) ?? 10_000,
    warmupPort: value.warmupPort as number | undefined,
  };
}

export { OptionError };
