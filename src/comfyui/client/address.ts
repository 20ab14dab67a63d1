/**
 * Server addresses: ComfyUI may sit behind a reverse proxy under a base path (`http://host/comfy/`)
 * and the address may or may not end in `/api` (the real server answers both since 2024-06; older
 * ones only without). We keep what the user gave: an address ending in `/api` keeps that prefix for
 * every route, including the websocket.
 */

export interface ServerAddress {
	/** `http://host:port` — the key of the connection pool. */
	origin: string;
	/** Path prefix without trailing slash, `''` or e.g. `/comfy` or `/comfy/api`. */
	basePath: string;
	/** Display form without credentials, e.g. `http://host:8188/comfy`. */
	display: string;
	/** Credentials found in the address itself (`http://user:pass@host`). */
	userInfo?: { user: string; password: string };
	secure: boolean;
}

/** Parses and normalises a server address. Throws a plain Error naming the problem. */
export function parseServerAddress(raw: string): ServerAddress {
	const text = raw.trim();
	if (text === '') throw new Error('The ComfyUI server address is empty.');
	const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
	let url: URL;
	try {
		url = new URL(withScheme);
	} catch {
		throw new Error(`"${text.replace(/\/\/[^/@\s]+@/, '//***@')}" is not a valid ComfyUI server address.`);
	}
	const scheme = url.protocol.toLowerCase();
	if (scheme !== 'http:' && scheme !== 'https:' && scheme !== 'ws:' && scheme !== 'wss:') {
		throw new Error(`A ComfyUI server address must start with http:// or https:// (got ${scheme}).`);
	}
	const secure = scheme === 'https:' || scheme === 'wss:';
	const origin = `${secure ? 'https' : 'http'}://${url.host}`;
	let basePath = url.pathname.replace(/\/+$/, '');
	// A pasted websocket or UI address: drop the `/ws` tail so routes resolve.
	basePath = basePath.replace(/\/ws$/i, '');
	const userInfo =
		url.username || url.password
			? { user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) }
			: undefined;
	return { origin, basePath, display: `${origin}${basePath}`, userInfo, secure };
}

/** Path (with query) for an HTTP route such as `/prompt`. */
export function routePath(address: ServerAddress, route: string, query?: Record<string, string | undefined>): string {
	let path = `${address.basePath}${route}`;
	if (query) {
		const params = new URLSearchParams();
		for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, value);
		const qs = params.toString();
		if (qs) path += `?${qs}`;
	}
	return path;
}

/** The websocket URL for a client id: same host, scheme ws/wss, same base path. */
export function webSocketUrl(address: ServerAddress, clientId: string): string {
	const wsOrigin = address.origin.replace(/^http/, 'ws');
	return `${wsOrigin}${address.basePath}/ws?clientId=${encodeURIComponent(clientId)}`;
}
