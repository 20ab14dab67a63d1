/**
 * Decides when a client asks its server for the catalogue of nodes and models (`/object_info`): a
 * catalogue read within the TTL is reused, and concurrent callers share one request.
 */
import type { HttpTransport } from './http';
import type { ObjectInfoMap } from './types';

export class ObjectInfoCatalogue {
	private cache?: { at: number; value: ObjectInfoMap };
	private inFlight?: Promise<ObjectInfoMap>;

	constructor(
		private readonly http: HttpTransport,
		/** How long a catalogue read stays fresh. */
		private readonly ttlMs: number,
		/** The client's ordinary request timeout; the catalogue gets at least a minute. */
		private readonly requestTimeoutMs: number,
	) {}

	/** The catalogue read within the TTL, without asking the server. */
	cached(): ObjectInfoMap | undefined {
		const cached = this.cache;
		return cached && Date.now() - cached.at < this.ttlMs ? cached.value : undefined;
	}

	/** The cached catalogue, else a fresh one (`force`: always fresh); concurrent callers share one request. */
	async read(options: { force?: boolean; signal?: AbortSignal } = {}): Promise<ObjectInfoMap> {
		const cached = this.cached();
		if (!options.force && cached) return cached;
		if (!options.force && this.inFlight) return this.inFlight;
		const request = this.http
			.expectJson<ObjectInfoMap>({
				method: 'GET',
				route: '/object_info',
				signal: options.signal,
				// Large installs take a while to list every node and model file.
				timeoutMs: Math.max(this.requestTimeoutMs, 60_000),
			})
			.then((value) => {
				this.cache = { at: Date.now(), value };
				return value;
			})
			.finally(() => {
				if (this.inFlight === request) this.inFlight = undefined;
			});
		this.inFlight = request;
		return request;
	}
}
