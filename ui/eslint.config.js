// Lints the UI's TypeScript next to tsc: the recommended rules of ESLint and typescript-eslint.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config({ ignores: ["dist/", "test/browser/dist/", "node_modules/"] }, js.configs.recommended, ...tseslint.configs.recommended, {
  files: ["**/*.mjs"],
  languageOptions: { globals: { window: "readonly", document: "readonly", console: "readonly", process: "readonly", Event: "readonly", URL: "readonly" } },
});
