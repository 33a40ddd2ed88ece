// Lint: typescript-eslint's recommended rules, and the layering of runtime/ as import rules, so the
// direction cannot rot: core ← aws ← history ← state ← stages ← local, dashboard ← cli
// (docs/architecture.md).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Layers a folder may not import (a layer imports only the layers below it), matched anywhere in a
 * relative path, so that core/'s subfolders are held to the same rule.
 */
const forbid = (layers, extra = []) => ({
  'no-restricted-imports': [
    'error',
    {
      patterns: [
        ...layers.map((l) => ({
          regex: `^\\.{1,2}/(?:\\.\\./)*(?:runtime/)?${l}/`,
          message: `this layer may not import runtime/${l}/ (docs/architecture.md)`,
        })),
        ...extra,
      ],
    },
  ],
});

const aws = { group: ['@aws-sdk/*'], message: 'core/ is pure: no AWS SDK (docs/architecture.md)' };

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'policy/node_modules/**', '.bench/**', '.kpi-local/**', 'assembly/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: 'readonly',
        process: 'readonly',
        require: 'readonly',
        __dirname: 'readonly',
        module: 'writable',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        performance: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        WebAssembly: 'readonly',
        NodeJS: 'readonly',
      },
    },
    rules: {
      // 120 columns; long string literals (messages, SQL) may run past it rather than be cut up.
      'max-len': [
        'error',
        { code: 120, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreUrls: true },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off', // optional dev dependencies are loaded with require
    },
  },
  {
    files: ['runtime/core/**/*.ts'],
    rules: forbid(['aws', 'history', 'state', 'stages', 'local', 'dashboard', 'cli'], [aws]),
  },
  { files: ['runtime/dashboard/**/*.ts'], rules: forbid(['stages', 'local', 'cli']) },
  { files: ['runtime/aws/**/*.ts'], rules: forbid(['history', 'state', 'stages', 'local', 'dashboard', 'cli']) },
  { files: ['runtime/history/**/*.ts'], rules: forbid(['state', 'stages', 'local', 'dashboard', 'cli']) },
  { files: ['runtime/state/**/*.ts'], rules: forbid(['stages', 'local', 'dashboard', 'cli']) },
  { files: ['runtime/stages/**/*.ts'], rules: forbid(['local', 'dashboard', 'cli']) },
  {
    files: ['runtime/dashboard/client.ts'],
    languageOptions: {
      globals: {
        window: 'readonly',
        document: 'readonly',
        fetch: 'readonly',
        Option: 'readonly',
        HTMLElement: 'readonly',
        HTMLInputElement: 'readonly',
        HTMLSelectElement: 'readonly',
        Window: 'readonly',
      },
    },
  },
  { files: ['runtime/local/**/*.ts'], rules: forbid(['dashboard', 'cli']) },
  // reference/ holds the oracles tests and benchmarks compare against; the image does not copy it.
  {
    files: ['runtime/**/*.ts'],
    ignores: ['runtime/dashboard/client.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ImportDeclaration[source.value=/(^|\\/)reference\\//]',
          message: 'runtime/ may not import reference/ (the test oracles; not in the image)',
        },
      ],
    },
  },
  // Functions a screen long at most. The exceptions are the byte-level state machines and row
  // loops whose state lives in locals on purpose (a call or a field per byte or row is measurable):
  {
    files: ['runtime/**/*.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }] },
  },
  {
    files: [
      'runtime/core/parse/csv.ts', // FastCsvScanner.scan: the RFC 4180 byte loop
      'runtime/core/join/join.ts', // Tables.readFile: the per-row join, closures over the file's columns
      'runtime/core/parse/rowscan.ts', // scanRows: the WebAssembly scanner's views, recreated on memory growth
      'runtime/cli/generate.ts', // generate: one deterministic random stream, in file order
    ],
    rules: { 'max-lines-per-function': 'off' },
  },
  { files: ['test/**/*.ts', 'bench/**/*.ts'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
  { files: ['**/*.js', '**/*.mjs'], languageOptions: { sourceType: 'commonjs' } },
);
