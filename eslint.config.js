import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

// Nx tags keep the direction of imports honest: apps -> services -> adapters
// -> contracts -> domain; the domain package imports nothing of ours.
export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '.data/**', '.nx/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@nx/enforce-module-boundaries': [
        'error',
        {
          allow: [],
          depConstraints: [
            { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:domain'] },
            { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: ['type:domain', 'type:contracts'] },
            { sourceTag: 'type:adapter', onlyDependOnLibsWithTags: ['type:domain', 'type:contracts', 'type:adapter'] },
            { sourceTag: 'type:service', onlyDependOnLibsWithTags: ['type:domain', 'type:contracts', 'type:adapter', 'type:service'] },
            { sourceTag: 'type:sdk', onlyDependOnLibsWithTags: ['type:domain', 'type:contracts'] },
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:domain', 'type:contracts', 'type:adapter', 'type:service', 'type:sdk'] },
            { sourceTag: 'type:test', onlyDependOnLibsWithTags: ['*'] },
            { sourceTag: 'type:bench', onlyDependOnLibsWithTags: ['*'] },
          ],
        },
      ],
    },
  },
);
