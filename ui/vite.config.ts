import { defineConfig, type Plugin } from 'vitest/config';

/**
 * Fontsource lists a .woff fallback after each .woff2; every webview Tauri uses (WebKitGTK,
 * WKWebView, WebView2) reads woff2, so the fallbacks would only double the embedded size.
 */
function woff2Only(): Plugin {
  return {
    name: 'houmon-woff2-only',
    enforce: 'pre',
    transform(code, id) {
      if (!/@fontsource[\\/].*\.css$/.test(id)) return null;
      return { code: code.replace(/,\s*url\([^)]*\.woff\) format\('woff'\)/g, ''), map: null };
    },
  };
}

// Preact through the TS/JSX automatic runtime (tsconfig jsxImportSource); no plugin needed.
export default defineConfig({
  clearScreen: false,
  base: './',
  plugins: [woff2Only()],
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
