/** How a server's authentication is sent (headers on every request and the websocket) and which strings of it are secret. */
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

/**
 * Every string that must never appear in a message or log line: the header values themselves
 * (`Bearer …`, `Basic …`) and what they are made of. Their encoded forms (base64 at any alignment,
 * percent- and JSON-escaped text) are `redact`'s to find.
 */
export function authSecrets(auth: ServerAuth): string[] {
	const headerValues = Object.values(authHeaders(auth));
	switch (auth.type) {
		case 'bearer':
			return [...headerValues, auth.token];
		case 'basic':
			// `user:password` and its base64 also when the password alone is too short to redact.
			return [...headerValues, auth.password, `${auth.user}:${auth.password}`, Buffer.from(`${auth.user}:${auth.password}`).toString('base64')];
		case 'header':
			return [auth.value];
		default:
			return [];
	}
}
