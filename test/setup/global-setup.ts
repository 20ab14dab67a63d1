import { createConnection } from 'net';
import { TEST_REDIS } from './redis';

/** Fails fast, with the fix, when no Redis answers: tests that need it must not be skipped silently. */
export default async function globalSetup(): Promise<void> {
	const { host, port } = TEST_REDIS;
	const ok = await new Promise<boolean>((resolve) => {
		const socket = createConnection({ host, port });
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
			`No Redis answers at ${host}:${port}. Start one (redis-server --daemonize yes --port ${port} --save "") ` +
				'or set TEST_REDIS_URL; .ci/run does this for you.',
		);
	}
}
