import { defineConfig } from "vitest/config";

// page is a file beside this config, whatever the working directory.
const page = (name: string) => decodeURIComponent(new URL(name, import.meta.url).pathname);

// base './' so dist/index.html loads its assets by relative paths, whether
// Wails serves it from the embedded files or the server from a sub-path.
// Two pages: index.html is the agent app (the desktop app's window),
// console.html the supervisor and admin console the server serves at /.
export default defineConfig({
  base: "./",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "safari14",
    assetsInlineLimit: 0,
    rollupOptions: {
      input: {
        index: page("index.html"),
        console: page("console.html"),
      },
    },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
