// Builds mock-ipc.ts into one script for Playwright's addInitScript.
import { defineConfig } from "vite";
import { fileURLToPath } from "node:url";

export default defineConfig({
  build: {
    outDir: fileURLToPath(new URL("./dist", import.meta.url)),
    emptyOutDir: true,
    lib: { entry: fileURLToPath(new URL("./mock-ipc.ts", import.meta.url)), formats: ["iife"], name: "mockIpc", fileName: () => "mock-ipc.js" },
  },
});
