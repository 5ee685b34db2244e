// One vitest run covers every TypeScript package: unit tests live next to the code (src/**/*.test.ts),
// cross-package integration and browser tests live in test/.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{server,extension,mode}/src/**/*.test.{ts,tsx}', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // 2-core CI machine: heavy tests (training, Orthanc, Chromium) must not starve each other.
    fileParallelism: true,
    maxWorkers: 2,
    minWorkers: 1,
  },
});
