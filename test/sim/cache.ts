/**
 * Decides which node results a server keeps between prompts, as ComfyUI's executor caches do. The
 * classic cache (the default) keeps, when a prompt starts, only what that prompt uses too: so the
 * previous prompt's results, and one unrelated prompt evicts them all. `--cache-lru N` keeps up to N
 * node results (not prompts): when a prompt starts with more cached, the results of the oldest
 * prompts go first, a whole prompt at a time, never those the new prompt uses.
 */
export class ResultCache<T> {
	/** by signature: the result and the last prompt (generation) that used it */
	private readonly entries = new Map<string, { value: T; used: number }>();
	private generation = 0;
	private oldestKept = 0;

	constructor(
		/** N of --cache-lru (0: the classic cache) */
		private readonly lru: number,
		/** Called for every result the cache lets go (the memory it held is free). */
		private readonly onDrop: (key: string) => void,
	) {}

	/** A prompt whose nodes have these signatures starts: what the cache no longer keeps goes. */
	startPrompt(keys: Iterable<string>): void {
		const used = new Set(keys);
		if (this.lru <= 0) {
			for (const key of [...this.entries.keys()]) if (!used.has(key)) this.drop(key);
			return;
		}
		this.generation++;
		for (const key of used) this.touch(key);
		while (this.entries.size > this.lru && this.oldestKept < this.generation) {
			this.oldestKept++;
			for (const [key, e] of [...this.entries]) if (e.used < this.oldestKept) this.drop(key);
		}
	}

	has(key: string): boolean {
		return this.entries.has(key);
	}

	get(key: string): T | undefined {
		this.touch(key);
		return this.entries.get(key)?.value;
	}

	set(key: string, value: T): void {
		if (this.entries.has(key)) this.drop(key);
		this.entries.set(key, { value, used: this.generation });
	}

	/** Everything goes (free_memory, a restart). */
	clear(): void {
		for (const key of [...this.entries.keys()]) this.drop(key);
	}

	private touch(key: string): void {
		const e = this.entries.get(key);
		if (e) e.used = this.generation;
	}

	private drop(key: string): void {
		this.entries.delete(key);
		this.onDrop(key);
	}
}
