import { defineConfig } from 'vitest/config';

// Preact through the TS/JSX automatic runtime (tsconfig jsxImportSource); no plugin needed.
export default defineConfig({
  clearScreen: false,
  base: './',
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    // Inline nothing as data: URLs for scripts; the CSP allows only 'self'.
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  test: {
    environment: 'happy-dom',
    globals: true,
    include: ['test/**/*.test.tsx', 'test/**/*.test.ts'],
  },
});
