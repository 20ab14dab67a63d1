/** Removes secrets from text before it reaches a log line, an error message or an output item. */

const MIN_SECRET_LENGTH = 4;

/** Replaces every occurrence of each secret (and its URL-encoded and base64 forms) with `***`. */
export function redact(text: string, secrets: ReadonlyArray<string | undefined | null>): string {
	let out = text;
	for (const secret of secrets) {
		if (!secret || secret.length < MIN_SECRET_LENGTH) continue;
		for (const form of new Set([secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64')])) {
			out = out.split(form).join('***');
		}
	}
	return out;
}

/** Strips userinfo and signature-like query parameters from a URL for display. */
export function redactUrl(url: string): string {
	try {
		const parsed = new URL(url);
		if (parsed.username || parsed.password) {
			parsed.username = parsed.username ? '***' : '';
			parsed.password = parsed.password ? '***' : '';
		}
		for (const key of [...parsed.searchParams.keys()]) {
			if (/signature|sig|token|key|credential|auth|password|secret/i.test(key)) parsed.searchParams.set(key, '***');
		}
		return parsed.toString();
	} catch {
		// Not a URL: still hide what reads as user:password@ (with or without a scheme).
		return url.replace(/^([a-z][a-z0-9+.-]*:\/*)?[\s\S]*@/i, '$1***@');
	}
}
