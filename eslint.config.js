// @ts-check
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * Layering (STYLE.md): only the Electron glue imports `electron`; `shared/` imports
 * nothing from `main/` or `renderer/`; the renderer imports nothing from `main/`.
 */
const electronOnlyInGlue = {
  paths: [{ name: 'electron', message: 'Only main/electron/ may import electron; keep logic in plain Node modules (use `import type` elsewhere).', allowTypeImports: true }],
};

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
  {
    files: ['main/electron/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
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
