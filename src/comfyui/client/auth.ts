import type { ServerAuth } from './types';

/** Headers that carry `auth` on every HTTP request and on the websocket handshake. */
export function authHeaders(auth: ServerAuth): Record<string, string> {
	switch (auth.type) {
		case 'bearer':
			return { authorization: `Bearer ${auth.token}` };
		case 'basic':
			return { authorization: `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}` };
		case 'header':
			return { [auth.name.toLowerCase()]: auth.value };
		default:
			return {};
	}
}

/** Every string that must never appear in a message or log line. */
export function authSecrets(auth: ServerAuth): string[] {
	switch (auth.type) {
		case 'bearer':
			return [auth.token];
		case 'basic':
			return [auth.password, Buffer.from(`${auth.user}:${auth.password}`).toString('base64')];
		case 'header':
			return [auth.value];
		default:
			return [];
	}
}
