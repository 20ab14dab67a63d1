/**
 * The one websocket a client keeps to its server (undici's WebSocket, so auth headers and the
 * client's dispatcher apply). Shared by every watch; reconnects with backoff while someone listens.
 * A drop never fails a job: watches keep polling and are told to poll at once.
 */
import { Agent, WebSocket, type Dispatcher } from 'undici';
import { backoffDelay } from '../../util/backoff';
import type { ClientLogger } from './types';

export interface SocketMessage {
	type: string;
	data: Record<string, unknown>;
}

export interface SocketListener {
	onMessage(message: SocketMessage): void;
	/** The socket closed or failed; the listener should poll now. */
	onDrop?(): void;
}

export interface SocketOptions {
	url: string;
	headers: Record<string, string>;
	dispatcher?: Dispatcher;
	logger?: ClientLogger;
	/** Longest wait for one connection attempt. */
	connectTimeoutMs: number;
	/** Display text of the address for log lines (no credentials). */
	server: string;
}

type State = 'idle' | 'connecting' | 'open' | 'backoff' | 'closed';

const RECONNECT = { initialMs: 250, maxMs: 10_000 };

let ownAgent: Agent | undefined;

/**
 * Websockets of clients given no dispatcher connect through the package's own Agent, never undici's
 * global dispatcher (inside n8n that is Node's bundled undici, not ours). Kept apart from the client's
 * request pool, so an upgrade never takes one of its warm connections.
 */
function socketDispatcher(): Dispatcher {
	ownAgent ??= new Agent();
	return ownAgent;
}

/** Parses a text frame; binary frames (previews) and malformed text give undefined. */
export function parseSocketFrame(data: unknown): SocketMessage | undefined {
	if (typeof data !== 'string') return undefined;
	try {
		const parsed = JSON.parse(data) as { type?: unknown; data?: unknown };
		if (typeof parsed.type !== 'string') return undefined;
		const payload = typeof parsed.data === 'object' && parsed.data !== null ? (parsed.data as Record<string, unknown>) : {};
		return { type: parsed.type, data: payload };
	} catch {
		return undefined;
	}
}

export class ComfySocket {
	/** When the server last sent a frame (0: never). */
	heardAt = 0;
	private state: State = 'idle';
	private ws?: WebSocket;
	private attempts = 0;
	private retryTimer?: NodeJS.Timeout;
	private readonly listeners = new Set<SocketListener>();
	private openWaiters: Array<(open: boolean) => void> = [];
	/** Times the socket opened; lets tests and telemetry see reconnects. */
	opens = 0;
	/** Each recent prompt's node timeline, heard whether or not a watch listened yet. */
	readonly timelines = new Timelines();

	constructor(private readonly options: SocketOptions) {}

	get isOpen(): boolean {
		return this.state === 'open';
	}

	/** Registers a listener; while any is registered a dropped socket reconnects. Returns the unsubscribe. */
	subscribe(listener: SocketListener): () => void {
		this.listeners.add(listener);
		if (this.state === 'idle') this.connect();
		return () => {
			this.listeners.delete(listener);
		};
	}

	/**
	 * Resolves true once the socket is open, false when it cannot open within `timeoutMs` or is
	 * waiting to reconnect (then the caller carries on by polling).
	 */
	ensureOpen(timeoutMs: number): Promise<boolean> {
		if (this.state === 'open') return Promise.resolve(true);
		if (this.state === 'closed' || this.state === 'backoff') return Promise.resolve(false);
		if (this.state === 'idle') this.connect();
		return new Promise((resolve) => {
			const timer = setTimeout(() => settle(false), timeoutMs);
			const settle = (open: boolean) => {
				clearTimeout(timer);
				this.openWaiters = this.openWaiters.filter((w) => w !== settle);
				resolve(open);
			};
			this.openWaiters.push(settle);
		});
	}

	close(): void {
		this.state = 'closed';
		if (this.retryTimer) clearTimeout(this.retryTimer);
		this.resolveWaiters(false);
		const ws = this.ws;
		this.ws = undefined;
		if (ws) {
			try {
				ws.close();
			} catch {
				// already closing
			}
		}
		this.listeners.clear();
	}

	private connect(): void {
		if (this.state === 'closed') return;
		this.state = 'connecting';
		let ws: WebSocket;
		try {
			ws = new WebSocket(this.options.url, { headers: this.options.headers, dispatcher: this.options.dispatcher ?? socketDispatcher() });
		} catch (error) {
			this.options.logger?.warn('ComfyUI websocket could not be created', { server: this.options.server, error: String(error) });
			this.failed();
			return;
		}
		this.ws = ws;
		ws.binaryType = 'arraybuffer';
		let ended = false;
		const connectTimer = setTimeout(() => {
			if (ws.readyState === WebSocket.CONNECTING) end('connect timeout');
		}, this.options.connectTimeoutMs);
		const end = (why: string) => {
			if (ended) return;
			ended = true;
			clearTimeout(connectTimer);
			try {
				ws.close();
			} catch {
				// closing a socket that never opened
			}
			if (this.ws !== ws) return;
			this.ws = undefined;
			this.options.logger?.debug('ComfyUI websocket closed', { server: this.options.server, why });
			this.failed();
		};
		ws.addEventListener('open', () => {
			clearTimeout(connectTimer);
			if (this.ws !== ws || this.state === 'closed') return;
			this.state = 'open';
			this.attempts = 0;
			this.opens++;
			this.resolveWaiters(true);
		});
		ws.addEventListener('message', (event) => {
			if (this.ws !== ws) return;
			this.heardAt = Date.now();
			const message = parseSocketFrame(event.data);
			if (!message) return;
			this.timelines.note(message);
			for (const listener of [...this.listeners]) listener.onMessage(message);
		});
		ws.addEventListener('error', () => end('error'));
		ws.addEventListener('close', (event) => end(`close ${event.code}`));
	}

	private failed(): void {
		this.resolveWaiters(false);
		if (this.state === 'closed') return;
		for (const listener of [...this.listeners]) listener.onDrop?.();
		if (this.listeners.size === 0) {
			this.state = 'idle';
			return;
		}
		this.state = 'backoff';
		const delay = backoffDelay(this.attempts++, RECONNECT);
		this.retryTimer = setTimeout(() => {
			this.retryTimer = undefined;
			if (this.state !== 'backoff') return;
			if (this.listeners.size === 0) this.state = 'idle';
			else this.connect();
		}, delay);
		this.retryTimer.unref();
	}

	private resolveWaiters(open: boolean): void {
		const waiters = this.openWaiters;
		this.openWaiters = [];
		for (const waiter of waiters) waiter(open);
	}
}

/** When each node of a prompt started (`executing`), which came from the cache, and when the run ended. */
export interface NodeTimeline {
	starts: Array<{ node: string; at: number }>;
	cached?: string[];
	end?: number;
}

/** Prompts whose timeline is kept; the oldest is dropped beyond this. */
const TIMELINES_KEPT = 256;

/**
 * Node timelines of the prompts this socket hears. A prompt may start running before the submit's
 * answer arrives (its loader's `executing` comes first): the timeline is kept from the first frame,
 * so the watch that follows it sees the whole run.
 */
export class Timelines {
	private readonly byPrompt = new Map<string, NodeTimeline>();

	note(message: SocketMessage): void {
		const promptId = message.data.prompt_id;
		if (typeof promptId !== 'string') return;
		const { type, data } = message;
		if (type !== 'executing' && type !== 'execution_cached' && type !== 'execution_success') return;
		let timeline = this.byPrompt.get(promptId);
		if (!timeline) {
			timeline = { starts: [] };
			this.byPrompt.set(promptId, timeline);
			if (this.byPrompt.size > TIMELINES_KEPT) this.byPrompt.delete(this.byPrompt.keys().next().value as string);
		}
		const at = Date.now();
		if (type === 'execution_cached' && Array.isArray(data.nodes)) timeline.cached = data.nodes.map(String);
		else if (type === 'executing' && data.node !== null && data.node !== undefined) timeline.starts.push({ node: String(data.node), at });
		else timeline.end ??= at;
	}

	/** The prompt's timeline, forgotten once taken. */
	take(promptId: string): NodeTimeline | undefined {
		const timeline = this.byPrompt.get(promptId);
		this.byPrompt.delete(promptId);
		return timeline;
	}
}
