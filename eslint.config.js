// @ts-check
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },
  // The dashboard's modules run in the browser (type-checked by tsconfig.web.json).
  {
    files: ['web/**/*.js'],
    languageOptions: { globals: globals.browser, sourceType: 'module' },
    rules: { eqeqeq: ['error', 'always', { null: 'ignore' }] },
  },
);
