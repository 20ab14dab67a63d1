// Starts fauxqs (an ESM-only S3 emulator) on 127.0.0.1 in its own process, with fault and latency
// injection controlled over `GET /__control?...`, and prints `listening <port>` on stdout.
// Usage: node test/fakes/fauxqsServer.mjs [port] [latencyMs]
import { buildApp } from 'fauxqs';

const state = {
	latencyMs: Number(process.argv[3] || 0),
	// Answer the next `failPuts` PUT (`failDeletes` DELETE) requests with 503 SlowDown (+ Retry-After when retryAfter ≥ 0).
	failPuts: 0,
	failDeletes: 0,
	retryAfter: -1,
	counts: { GET: 0, PUT: 0, HEAD: 0, POST: 0, DELETE: 0 },
	failed: 0,
	// Sum of Content-Length of PUT requests received (counted when the request starts).
	bytesIn: 0,
};

const app = buildApp({ logger: false });

app.addHook('onRequest', async (request, reply) => {
	const url = request.raw.url ?? '';
	if (url.startsWith('/__control') || url.startsWith('/__stats')) {
		const params = new URL(url, 'http://x').searchParams;
		if (url.startsWith('/__control')) {
			if (params.has('latencyMs')) state.latencyMs = Number(params.get('latencyMs'));
			if (params.has('failPuts')) state.failPuts = Number(params.get('failPuts'));
			if (params.has('failDeletes')) state.failDeletes = Number(params.get('failDeletes'));
			if (params.has('retryAfter')) state.retryAfter = Number(params.get('retryAfter'));
			if (params.has('reset')) {
				state.counts = { GET: 0, PUT: 0, HEAD: 0, POST: 0, DELETE: 0 };
				state.failed = 0;
				state.bytesIn = 0;
			}
		}
		reply.header('content-type', 'application/json').send(JSON.stringify(state));
		return reply;
	}
	state.counts[request.method] = (state.counts[request.method] ?? 0) + 1;
	if (request.method === 'PUT') state.bytesIn += Number(request.headers['content-length'] ?? 0);
	if (state.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, state.latencyMs));
	const failing = request.method === 'PUT' ? 'failPuts' : request.method === 'DELETE' ? 'failDeletes' : undefined;
	if (failing && state[failing] > 0) {
		state[failing]--;
		state.failed++;
		if (state.retryAfter >= 0) reply.header('retry-after', String(state.retryAfter));
		reply
			.code(503)
			.header('content-type', 'application/xml')
			.send('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
		return reply;
	}
	return undefined;
});

const address = await app.listen({ port: Number(process.argv[2] || 0), host: '127.0.0.1' });
process.stdout.write(`listening ${new URL(address).port}\n`);
const stop = () => app.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// Die with the parent: stdin closes when it goes away.
process.stdin.on('end', stop);
process.stdin.resume();
