// The JS lint of scripts/check: ESLint's recommended rules over the page scripts, in browsers.
// CommonJS on purpose: eslint, @eslint/js and globals live in .tools/node_modules (installed
// by scripts/_env.sh, pinned), which scripts/check puts on NODE_PATH for require().
const js = require("@eslint/js");
const globals = require("globals");

module.exports = [
  { ignores: [".tools/**", ".venv/**", "node_modules/**", "build/**", "dist/**", "data/**"] },
  {
    files: ["homelab_hub/server/web/static/**/*.js"],
    ...js.configs.recommended,
    languageOptions: { ecmaVersion: 2023, sourceType: "module", globals: globals.browser },
  },
  {
    files: ["eslint.config.js"],
    ...js.configs.recommended,
    languageOptions: { ecmaVersion: 2023, sourceType: "commonjs", globals: globals.node },
  },
  {
    files: ["tests/**/*.mjs"],
    ...js.configs.recommended,
    languageOptions: { ecmaVersion: 2023, sourceType: "module", globals: globals.node },
  },
];
