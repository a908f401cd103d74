import { defineConfig } from "vite";

export default defineConfig({
  // Tauri serves the built files from its own protocol: relative asset paths keep them working.
  base: "./",
  build: { outDir: "dist", emptyOutDir: true, target: "es2022" },
  server: { port: 1420, strictPort: true },
});
