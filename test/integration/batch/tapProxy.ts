/**
 * A TCP proxy in front of a server that counts the HTTP requests passing through it by request line
 * and may hold some back, so tests see what the engine asks a server and how it copes with a slow
 * route — websocket frames pass untouched (a client's frames are masked, never read as request lines).
 */
import { createConnection, createServer, type Server, type Socket } from 'net';

export interface TapProxy {
	url: string;
	/** Request lines seen, e.g. `GET /queue`, with when each arrived. */
	requests: Array<{ line: string; at: number }>;
	count(line: string): number;
	stop(): Promise<void>;
}

/** `delayMs(line)`: how long to hold a request (and what follows it on its connection) back. */
export async function startTapProxy(target: string, delayMs: (line: string) => number = () => 0): Promise<TapProxy> {
	const { hostname, port } = new URL(target);
	const requests: TapProxy['requests'] = [];
	const sockets = new Set<Socket>();
	const server: Server = createServer((client) => {
		const upstream = createConnection({ host: hostname, port: Number(port) });
		sockets.add(client).add(upstream);
		let chain = Promise.resolve();
		client.on('data', (chunk) => {
			const lines = chunk.toString('latin1').match(/^(GET|POST|PUT|DELETE|HEAD) \S+/gm) ?? [];
			const hold = Math.max(0, ...lines.map((line) => delayMs(line.split('?')[0])));
			for (const line of lines) requests.push({ line: line.split('?')[0], at: Date.now() });
			chain = chain.then(() => (hold > 0 ? new Promise((resolve) => setTimeout(resolve, hold)) : undefined)).then(() => void upstream.write(chunk));
		});
		upstream.pipe(client);
		const close = () => {
			client.destroy();
			upstream.destroy();
		};
		client.on('close', close).on('error', close);
		upstream.on('close', close).on('error', close);
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const address = server.address() as { port: number };
	return {
		url: `http://127.0.0.1:${address.port}`,
		requests,
		count: (line) => requests.filter((r) => r.line === line).length,
		stop: async () => {
			for (const s of sockets) s.destroy();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}
