/**
 * The outside world of scripts/e2e-n8n.sh, on 127.0.0.1, until SIGINT/SIGTERM: the package's Cloudflare
 * Images fake (test/fakes/cloudflareImages.ts) and a file server with the input image, reached directly
 * (/images/input.png) or through a 302 (/redirect/input.png), as picsum.photos and many image hosts answer.
 * Prints one JSON line: {"files": url, "cloudflare": {apiBaseUrl, batchBaseUrl, accountId, token, accountHash}}.
 *   ts-node --transpile-only --prefer-ts-exts scripts/e2e-n8n/fakes.ts
 */
import { startCloudflareImagesFake } from '../../test/fakes/cloudflareImages';
import { encodePng } from '../../test/sim';
import { startFileServer } from '../../test/workflow/comfyui';

async function main(): Promise<void> {
	const files = await startFileServer({
		'/images/input.png': { body: encodePng({ width: 64, height: 64, color: 0x3c8cc8 }), type: 'image/png' },
		'/redirect/input.png': { redirect: '/images/input.png' },
	});
	const cloudflare = await startCloudflareImagesFake();
	const { apiBaseUrl, batchBaseUrl, accountId, token, accountHash } = cloudflare;
	process.stdout.write(`${JSON.stringify({ files: files.url, cloudflare: { apiBaseUrl, batchBaseUrl, accountId, token, accountHash } })}\n`);
	let stopping = false;
	const shutdown = (): void => {
		if (stopping) return;
		stopping = true;
		Promise.all([files.close(), cloudflare.close()]).then(
			() => process.exit(0),
			() => process.exit(1),
		);
	};
	process.on('SIGINT', shutdown);
	process.on('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
	process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
	process.exit(1);
});
