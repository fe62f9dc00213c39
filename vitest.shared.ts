import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';

type ProjectOptions = NonNullable<TestProjectInlineConfiguration['test']>;

/**
 * Every package has the same two test projects: `unit` (fast, no CRIU) and `integration` (real
 * CRIU, real processes). Integration files run one at a time: real dumps and restores keep PIDs,
 * ports and CPU predictable that way.
 */
export function defrostTestProjects(
  options: { unit?: ProjectOptions; integration?: ProjectOptions; soak?: ProjectOptions } = {},
) {
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
        // Long runs against real CRIU (thousands of restores); run once per CI run, not per Node.
        {
          test: {
            name: 'soak',
            include: ['test/soak/**/*.test.ts'],
            fileParallelism: false,
            testTimeout: 20 * 60_000,
            hookTimeout: 120_000,
            ...options.soak,
          },
        },
      ],
    },
  });
}
