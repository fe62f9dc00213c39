import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The zero-code agent, bundled next to bin.js (scripts/bundle.mjs). */
export const AGENT_FILE = fileURLToPath(new URL('./agent.js', import.meta.url));

/** Adds --expose-gc to NODE_OPTIONS unless it is there already. */
export function withExposeGc(nodeOptions: string | undefined): string {
  const current = (nodeOptions ?? '').trim();
  if (/(^|\s)--expose[-_]gc(\s|$)/.test(current)) return current;
  return current ? `${current} --expose-gc` : '--expose-gc';
}

/** NODE_OPTIONS quotes a value with spaces in double quotes (and \" \\ inside). */
function nodeOptionValue(value: string): string {
  return /[\s"\\]/.test(value) ? `"${value.replace(/[\\"]/g, '\\$&')}"` : value;
}

/** Adds `--import AGENT` in front, so the agent loads before the app's own code. */
export function withAgent(nodeOptions: string | undefined, agent: string = AGENT_FILE): string {
  const current = (nodeOptions ?? '').trim();
  const preload = `--import ${nodeOptionValue(agent)}`;
  return current ? `${preload} ${current}` : preload;
}

export interface AppEnvInput {
  /** `defrost checkpoint`: the image to write; `defrost run`: none. */
  readonly checkpoint?: { readonly imageDir: string; readonly keepRunning: boolean; readonly force: boolean };
  readonly progressFile?: string;
  /** `defrost run`: where checkpoint requests from outside arrive. */
  readonly runDir?: string;
  /** The zero-code agent's settings (agentConfig()). */
  readonly agent: string;
  /** Where the agent script is (tests). */
  readonly agentFile?: string;
}

/**
 * The app's environment: what the plugin and the zero-code agent read to checkpoint it, the agent
 * preloaded, and --expose-gc. Inherited DEFROST_* variables that this run does not set are
 * removed, so a stray DEFROST_CHECKPOINT_FORCE or signing key in the shell cannot leak into it.
 *
 * --expose-gc goes in NODE_OPTIONS (it is on Node's allow-list of V8 options there; `defrost
 * doctor` checks it), so it reaches node however the command starts it (`node app.js`, `npm
 * start`, a shell script); the checkpoint collects garbage with it, which makes the image smaller.
 */
export function appEnv(base: NodeJS.ProcessEnv, o: AppEnvInput): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const key of Object.keys(env)) if (key.startsWith('DEFROST_CHECKPOINT_')) delete env[key];
  for (const key of ['DEFROST_SIGNING_KEY', 'DEFROST_PROGRESS_FILE', 'DEFROST_RUN_DIR', 'DEFROST_AGENT'])
    delete env[key];
  if (o.checkpoint) {
    env.DEFROST_CHECKPOINT_IMAGE = resolve(o.checkpoint.imageDir);
    env.DEFROST_CHECKPOINT_MODE = o.checkpoint.keepRunning ? 'continue' : 'exit';
    if (o.checkpoint.force) env.DEFROST_CHECKPOINT_FORCE = '1';
  }
  if (o.progressFile) env.DEFROST_PROGRESS_FILE = o.progressFile;
  if (o.runDir) env.DEFROST_RUN_DIR = o.runDir;
  env.DEFROST_AGENT = o.agent;
  env.NODE_OPTIONS = withAgent(withExposeGc(base.NODE_OPTIONS), o.agentFile);
  return env;
}
