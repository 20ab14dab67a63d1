import { createConnection } from 'net';

/** Fails fast, with the fix, when no Redis answers: tests that need it must not be skipped silently. */
export default async function globalSetup(): Promise<void> {
	const url = new URL(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/13');
	const ok = await new Promise<boolean>((resolve) => {
		const socket = createConnection({ host: url.hostname, port: Number(url.port || 6379) });
		socket.setTimeout(2000);
		socket.once('connect', () => {
			socket.end();
			resolve(true);
		});
		socket.once('error', () => resolve(false));
		socket.once('timeout', () => {
			socket.destroy();
			resolve(false);
		});
	});
	if (!ok) {
		throw new Error(
			`No Redis answers at ${url.host}. Start one (redis-server --daemonize yes --port 6379 --save "") ` +
				'or set TEST_REDIS_URL; .ci/run does this for you.',
		);
	}
}
