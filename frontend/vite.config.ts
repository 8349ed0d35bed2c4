import { defineConfig } from "vitest/config";

// base './' so dist/index.html loads its assets by relative paths, whether
// Wails serves it from the embedded files or the server from a sub-path.
export default defineConfig({
  base: "./",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "safari14",
    assetsInlineLimit: 0,
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
