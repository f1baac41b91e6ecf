// @ts-check
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * Layering (docs/ARCHITECTURE.md): only the Electron glue imports `electron`; `shared/`
 * imports nothing from `main/` or `renderer/`; the renderer imports nothing from `main/`.
 */
const electronOnlyInGlue = {
  paths: [{ name: 'electron', message: 'Only main/electron/ may import electron; keep logic in plain Node modules (use `import type` elsewhere).', allowTypeImports: true }],
};

/**
 * Layers inside main/, lowest first. A folder imports only from folders in LOWER layers
 * (plus shared/ and the small modules at main/'s root); never upwards and never sideways,
 * so e.g. the connector and the gateway share only main/tunnel/ and main/http/, and the supervisor knows
 * the connector's worker protocol but not the other way round. Tests may reach across.
 */
const MAIN_LAYERS = [
  ['logging', 'storage'],
  ['tunnel', 'http', 'detect', 'deployments'],
  ['gateway', 'connector'],
  ['supervisor'],
  ['core'],
  ['headless', 'electron'],
  ['cli'],
];

function layerRules(folder) {
  const layer = MAIN_LAYERS.findIndex((names) => names.includes(folder));
  const above = MAIN_LAYERS.slice(layer).flat().filter((name) => name !== folder);
  return {
    files: [`main/${folder}/**`],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        ...(folder === 'electron' ? {} : electronOnlyInGlue),
        ...(above.length ? {
          patterns: [{
            group: above.flatMap((name) => [`../${name}/**`, `../../${name}/**`]),
            message: `main/${folder}/ may import only from layers below it (eslint.config.js MAIN_LAYERS: ${MAIN_LAYERS.map((l) => l.join(' ')).join(' < ')}).`,
          }],
        } : {}),
      }],
    },
  };
}

export default tseslint.config(
  { ignores: ['dist/**', 'release/**', 'node_modules/**', 'e2e/artifacts/**', 'test-results/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-restricted-imports': ['error', electronOnlyInGlue],
    },
  },
  { files: ['main/electron/**'], rules: { 'no-restricted-imports': 'off' } },
  ...MAIN_LAYERS.flat().map(layerRules),
  {
    files: ['shared/**'],
    rules: {
      'no-restricted-imports': ['error', {
        ...electronOnlyInGlue,
        patterns: [{ group: ['**/main/**', '**/renderer/**', '../main/*', '../renderer/*'], message: 'shared/ is imported by main and renderer; it must not import them.' }],
      }],
    },
  },
  {
    files: ['renderer/**'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': ['error', {
        ...electronOnlyInGlue,
        patterns: [{ group: ['**/main/**', '../main/*', '../../main/*'], message: 'The renderer talks to the core only through the typed API in shared/api.ts.' }],
      }],
    },
  },
  {
    files: ['**/*.test.ts', '**/*.test.tsx', 'e2e/**', 'bench/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
