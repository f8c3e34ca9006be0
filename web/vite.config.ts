/// <reference types="vitest/config" />
import { resolve } from "node:path";
import { defineConfig } from "vite";

// The site is plain React + TypeScript: esbuild compiles the JSX, no plugin needed.
export default defineConfig({
  esbuild: { jsx: "automatic" },
  build: {
    outDir: "dist",
    target: "es2022",
    // Everything ships from the edge itself (CSP: self only): no inline module preload polyfill.
    modulePreload: { polyfill: false },
    rollupOptions: {
      input: { index: resolve(__dirname, "index.html"), console: resolve(__dirname, "console.html") },
    },
  },
  test: {
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
    environment: "jsdom",
  },
});
