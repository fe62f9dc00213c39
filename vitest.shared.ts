import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';

type ProjectOptions = NonNullable<TestProjectInlineConfiguration['test']>;

/**
 * Every package has the same two test projects: `unit` (fast, no CRIU) and `integration` (real
 * CRIU, real processes). Integration files run one at a time: real dumps and restores keep PIDs,
 * ports and CPU predictable that way.
 */
export function defrostTestProjects(options: { unit?: ProjectOptions; integration?: ProjectOptions } = {}) {
  return defineConfig({
    test: {
      projects: [
        { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], ...options.unit } },
        {
          test: {
            name: 'integration',
            include: ['test/integration/**/*.test.ts'],
            fileParallelism: false,
            testTimeout: 60_000,
            hookTimeout: 60_000,
            ...options.integration,
          },
        },
      ],
    },
  });
}
