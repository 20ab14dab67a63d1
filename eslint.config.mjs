// Lint with n8n's community-node rules (@n8n/eslint-plugin-community-nodes) and the classic
// eslint-plugin-n8n-nodes-base rule sets for nodes, credentials and package.json.
import tsParser from '@typescript-eslint/parser';
import communityNodes from '@n8n/eslint-plugin-community-nodes';
import n8nNodesBase from 'eslint-plugin-n8n-nodes-base';

const community = communityNodes.configs.recommendedWithoutN8nCloudSupport;
const n8nBase = { 'n8n-nodes-base': n8nNodesBase };

export default [
	{
		ignores: ['dist/**', 'node_modules/**', 'test/**', 'bench/**', 'examples/**', 'scripts/**', '**/*.test.ts', '*.js', '*.mjs'],
	},
	{
		files: ['**/*.ts'],
		languageOptions: { parser: tsParser, parserOptions: { sourceType: 'module' } },
		rules: { 'no-console': 'error' },
	},
	{
		files: ['package.json'],
		languageOptions: { parser: tsParser, parserOptions: { extraFileExtensions: ['.json'] } },
		plugins: n8nBase,
		rules: n8nNodesBase.configs.community.rules,
	},
	{
		files: ['credentials/**/*.ts'],
		plugins: n8nBase,
		rules: {
			...n8nNodesBase.configs.credentials.rules,
			// As in n8n-nodes-starter: a community credential links its docs with a full URL, not an n8n docs slug.
			'n8n-nodes-base/cred-class-field-documentation-url-miscased': 'off',
		},
	},
	{
		files: ['nodes/**/*.ts'],
		plugins: n8nBase,
		rules: {
			...n8nNodesBase.configs.nodes.rules,
			// Superseded by @n8n/community-nodes/node-connection-type-literal (NodeConnectionTypes.Main), which contradicts them.
			'n8n-nodes-base/node-class-description-inputs-wrong-regular-node': 'off',
			'n8n-nodes-base/node-class-description-outputs-wrong': 'off',
		},
	},
	{
		files: ['nodes/**/*.ts', 'credentials/**/*.ts', 'package.json'],
		plugins: community.plugins,
		rules: {
			...community.rules,
			// This package targets self-hosted n8n (not n8n Cloud or verification): it ships runtime
			// dependencies (undici, ioredis, the AWS SDK, ...), which self-hosted community installs support.
			'@n8n/community-nodes/no-runtime-dependencies': 'off',
			// Self-hosted only as well: the nodes may offer n8n's built-in credential types where users already have them.
			'@n8n/community-nodes/no-credential-reuse': 'off',
		},
	},
];
