// Cold start accounting: each startup step is timed and the total is printed as one line.
import { performance } from 'node:perf_hooks';

export interface StartupPhase {
  readonly name: string;
  readonly ms: number;
}

export class StartupTimer {
  readonly phases: StartupPhase[] = [];

  measure<T>(name: string, fn: () => T): T {
    const start = performance.now();
    try {
      return fn();
    } finally {
      this.phases.push({ name, ms: performance.now() - start });
    }
  }

  async measureAsync<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await fn();
    } finally {
      this.phases.push({ name, ms: performance.now() - start });
    }
  }

  add(name: string, ms: number): void {
    this.phases.push({ name, ms });
  }
}

/** `blog: ready in 812 ms (boot 150 ms, db 12 ms, ...)`, where the total is the time since the process started. */
export function formatReadyLine(phases: readonly StartupPhase[], totalMs: number, suffix = ''): string {
  const parts = phases.map((p) => `${p.name} ${Math.round(p.ms)} ms`).join(', ');
  return `blog: ready in ${Math.round(totalMs)} ms (${parts})${suffix}`;
}
