/** @type {import('jest').Config} */
module.exports = {
	testEnvironment: 'node',
	roots: ['<rootDir>/test', '<rootDir>/src'],
	testMatch: ['**/*.test.ts'],
	transform: {
		// Type checking runs once in `npm run typecheck`; tests only transpile.
		'^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json', diagnostics: false }],
	},
	setupFiles: ['<rootDir>/test/setup/env.ts'],
	globalSetup: '<rootDir>/test/setup/global-setup.ts',
	testTimeout: 60_000,
	maxWorkers: 2,
};
