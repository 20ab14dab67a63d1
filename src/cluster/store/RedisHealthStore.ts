/**
 * Keeps the cluster's state in Redis, shared by every n8n process of an install, and decides its
 * reservations there. Every state change is one Lua script call (one round trip; a commit's calls
 * in one transaction); reads for status are one transaction too (one round trip, and redirections
 * followed on Redis Cluster). Keys come from `keys.ts` and share the cluster's hash tag, so it runs
 * on a single Redis, Sentinel or Redis Cluster; a call that meets its slot moving between nodes is
 * sent again for up to 2 s (`untilSlotSettles`) rather than taken for Redis gone.
 */
import { decodeBreaker, phase } from '../breaker';
import {
	MAX_ERROR_LENGTH,
	newLeaseId,
	resolveStoreOptions,
	type CommitArgs,
	type CommitResult,
	type HealthStore,
	type HealthStoreOptions,
	type HealthStoreOptionsInput,
	type Lease,
	type Outcome,
	type ProbeResult,
	type SelectArgs,
	type SelectResult,
	type ServerStatus,
	type StoreServer,
	type SystemStats,
	type Tombstone,
} from './HealthStore';
import { clusterKeys, keysInOrder, type ClusterKeys } from './keys';
import { tombstoneField } from './MemoryHealthStore';
import { runScript, runScriptsAtomically, SCRIPTS, untilSlotSettles, type RedisClient, type ScriptCall, type StoreScript } from './scripts';

export interface RedisHealthStoreOptions extends HealthStoreOptionsInput {
	clusterHash: string;
	/** Key prefix (default 'comfyui-cluster'); the hash tag `{clusterHash}` follows it. */
	prefix?: string;
	/** Idle state expires after this (default 7 days), so a removed cluster leaves nothing behind. */
	stateTtlMs?: number;
	/** Close the client on close() (default false: the caller owns it). */
	ownsClient?: boolean;
	/**
	 * Tests only: the time (ms) the scripts and reads use in place of Redis's clock, and the worker's
	 * clock is taken to be the same one. Lets a test run this store and the memory store on one clock.
	 */
	testClock?: () => number;
}

interface SelectReply {
	serverId?: string;
	reason?: string;
	trial?: boolean;
	panic?: boolean;
	none?: string;
}

export class RedisHealthStore implements HealthStore {
	readonly kind = 'redis' as const;
	readonly options: HealthStoreOptions;
	readonly keys: ClusterKeys;
	private trips = 0;
	private readonly stateTtlMs: number;

	constructor(
		readonly redis: RedisClient,
		private readonly config: RedisHealthStoreOptions,
	) {
		this.options = resolveStoreOptions(config);
		this.keys = clusterKeys(config.clusterHash, config.prefix);
		this.stateTtlMs = config.stateTtlMs ?? 7 * 24 * 3600_000;
	}

	get roundTrips(): number {
		return this.trips;
	}

	async renew(lease: Lease, ttlMs: number): Promise<boolean> {
		const expiresAt = this.options.now() + ttlMs;
		const ok = Number(await this.run(SCRIPTS.renew, { member: member(lease), ttlMs })) === 1;
		if (ok) lease.expiresAt = expiresAt;
		return ok;
	}

	async retake(lease: Lease, ttlMs: number): Promise<boolean> {
		const expiresAt = this.options.now() + ttlMs;
		await this.run(SCRIPTS.retake, { member: member(lease), ttlMs, stateTtlMs: this.stateTtlMs });
		lease.expiresAt = expiresAt;
		return true;
	}

	async commit(args: CommitArgs): Promise<CommitResult> {
		const releases = (args.release ?? []).map((r) => this.releaseCall(r.lease, r.outcome, r.keepTtlMs));
		const reserves = (args.reserve ?? []).map((r) => this.selectCall(r));
		if (releases.length + reserves.length === 0) return { released: [], reserved: [] };
		this.trips++;
		const replies = await untilSlotSettles(() => runScriptsAtomically(this.redis, [...releases, ...reserves]));
		(args.release ?? []).forEach((r, i) => {
			const { keepUntil } = releases[i];
			if (keepUntil !== undefined) r.lease.expiresAt = keepUntil;
		});
		return {
			released: releases.map((_, i) => Number(replies[i]) === 1),
			reserved: reserves.map((call, i) => this.selectResult(call, replies[releases.length + i])),
		};
	}

	private selectCall(args: SelectArgs): ScriptCall & { leaseId: string; expiresAt: number } {
		const leaseId = newLeaseId();
		const call = this.call(SCRIPTS.selectReserve, {
			leaseId,
			leaseTtlMs: args.leaseTtlMs,
			strategy: args.strategy,
			servers: args.servers.map((s) => ({ id: s.id, weight: s.weight, max: s.max })),
			exclude: [...(args.exclude ?? [])],
			options: { ...this.options.selection, ...args.options },
			stateTtlMs: this.stateTtlMs,
		});
		return { ...call, leaseId, expiresAt: this.options.now() + args.leaseTtlMs };
	}

	private selectResult(call: { leaseId: string; expiresAt: number }, raw: unknown): SelectResult {
		const reply = JSON.parse(String(raw)) as SelectReply;
		if (reply.none !== undefined || reply.serverId === undefined) return { none: reply.none ?? 'no server is free' };
		return {
			lease: { id: call.leaseId, serverId: reply.serverId, expiresAt: call.expiresAt, store: 'redis' },
			reason: reply.reason ?? '',
			trial: reply.trial === true,
			panic: reply.panic === true,
		};
	}

	private releaseCall(lease: Lease, outcome: Outcome, keepTtlMs?: number): ScriptCall & { keepUntil?: number } {
		const keepUntil = keepTtlMs === undefined ? undefined : this.options.now() + keepTtlMs;
		const call = this.call(SCRIPTS.release, {
			member: member(lease),
			keepTtlMs,
			kind: outcome.kind,
			workflowKey: outcome.workflowKey,
			executionMs: outcome.executionMs,
			work: outcome.work,
			error: outcome.error?.slice(0, MAX_ERROR_LENGTH),
			loads: outcome.loads,
			resident: outcome.resident,
			random: this.options.random(),
			breaker: this.options.breaker,
			alpha: this.options.ewmaAlpha,
			stateTtlMs: this.stateTtlMs,
		});
		return { ...call, keepUntil };
	}

	async recordProbes(results: readonly ProbeResult[]): Promise<void> {
		if (results.length === 0) return;
		await this.run(SCRIPTS.recordProbes, {
			probes: results.map((r) => ({
				serverId: r.serverId,
				ok: r.ok,
				queueRemaining: r.queueRemaining,
				external: r.external,
				refused: r.refused === true ? true : undefined,
				error: r.error?.slice(0, MAX_ERROR_LENGTH),
				random: this.options.random(),
			})),
			breaker: this.options.breaker,
			stateTtlMs: this.stateTtlMs,
		});
	}

	async addTombstones(tombstones: readonly Tombstone[]): Promise<void> {
		if (tombstones.length === 0) return;
		this.trips++;
		const fields = tombstones.flatMap((t) => [tombstoneField(t), String(t.at)]);
		await untilSlotSettles(() => this.redis.multi().hset(this.keys.tombstones, ...fields).pexpire(this.keys.tombstones, TOMBSTONE_TTL_MS).exec());
	}

	async removeTombstones(tombstones: ReadonlyArray<Pick<Tombstone, 'serverId' | 'promptId'>>): Promise<void> {
		if (tombstones.length === 0) return;
		this.trips++;
		await untilSlotSettles(() => this.redis.hdel(this.keys.tombstones, ...tombstones.map(tombstoneField)));
	}

	async recordSystemStats(serverId: string, stats: SystemStats): Promise<void> {
		const { vramFree, vramTotal, ramFree, ramTotal } = stats;
		await this.run(SCRIPTS.recordStats, { serverId, vramFree, vramTotal, ramFree, ramTotal, stateTtlMs: this.stateTtlMs });
	}

	async snapshot(servers: readonly StoreServer[]): Promise<ServerStatus[]> {
		const k = this.keys;
		const ids = servers.map((s) => s.id);
		if (ids.length === 0) return [];
		this.trips++;
		const sentAt = this.options.now();
		const replies = await this.exec(() =>
			this.redis
				.multi()
				.time()
				.zrange(k.leases, 0, -1, 'WITHSCORES')
				.hmget(k.breaker, ...ids)
				.hmget(k.queue, ...ids)
				.hgetall(k.ewma)
				.hmget(k.stats, ...ids)
				.hmget(k.errors, ...ids)
				.hgetall(k.tombstones)
				.hmget(k.models, ...ids),
		);
		const [time, leases, breakers, queues, ewmaAll, stats, errors, tombstoneAll, models] = replies as [
			[string, string],
			string[],
			Array<string | null>,
			Array<string | null>,
			Record<string, string>,
			Array<string | null>,
			Array<string | null>,
			Record<string, string>,
			Array<string | null>,
		];
		const { now, local } = this.clock(time, sentAt);
		const tombstones = new Map<string, Tombstone[]>();
		for (const [field, at] of Object.entries(tombstoneAll)) {
			const bar = field.indexOf('|');
			const t = { serverId: field.slice(0, bar), promptId: field.slice(bar + 1), at: Number(at) };
			tombstones.set(t.serverId, [...(tombstones.get(t.serverId) ?? []), t]);
		}
		const inFlight = new Map<string, number>();
		for (let i = 0; i < leases.length; i += 2) {
			if (Number(leases[i + 1]) <= now) continue;
			const id = leases[i].slice(0, leases[i].indexOf('|'));
			inFlight.set(id, (inFlight.get(id) ?? 0) + 1);
		}
		return servers.map((server, i) => {
			const b = decodeBreaker(breakers[i]);
			const ewma: ServerStatus['ewma'] = {};
			for (const [field, value] of Object.entries(ewmaAll)) {
				if (!field.startsWith(`${server.id}|`)) continue;
				const [seconds, samples] = value.split(',').map(Number);
				ewma[field.slice(server.id.length + 1)] = { seconds, samples };
			}
			const status: ServerStatus = {
				id: server.id,
				url: server.url,
				weight: server.weight,
				max: server.max,
				breaker: {
					phase: phase(b, now),
					failures: b.failures,
					ejections: b.ejections,
					openUntil: local(b.openUntil),
					lastFailureAt: local(b.lastFailureAt),
					recoveredAt: local(b.recoveredAt),
				},
				inFlight: inFlight.get(server.id) ?? 0,
				ewma,
				tombstones: tombstones.get(server.id) ?? [],
			};
			const queue = queues[i];
			if (queue) {
				const [n, at, external] = queue.split(',').map(Number);
				status.queueRemaining = n;
				status.queueAgeMs = now - at;
				if (Number.isFinite(external)) status.queueExternal = external;
			}
			const stat = stats[i];
			if (stat) {
				const [vramFree, vramTotal, ramFree, ramTotal, at] = stat.split(',').map(Number);
				status.system = { vramFree, vramTotal, ramFree, ramTotal };
				status.systemAgeMs = now - at;
			}
			const error = errors[i];
			if (error) {
				const bar = error.indexOf('|');
				status.lastError = { at: local(Number(error.slice(0, bar))), message: error.slice(bar + 1) };
			}
			const resident = models[i];
			if (resident) {
				const bar = resident.indexOf('|');
				status.resident = { at: local(Number(resident.slice(0, bar))), models: JSON.parse(resident.slice(bar + 1)) as string[] };
			}
			return status;
		});
	}

	async staleServers<T extends StoreServer>(servers: readonly T[], maxAgeMs: number): Promise<T[]> {
		if (servers.length === 0) return [];
		this.trips++;
		const replies = await this.exec(() => this.redis.multi().time().hmget(this.keys.queue, ...servers.map((s) => s.id)));
		const [time, queues] = replies as [[string, string], Array<string | null>];
		const { now } = this.clock(time);
		return servers.filter((_server, i) => {
			const queue = queues[i];
			if (!queue) return true;
			return now - Number(queue.split(',')[1]) > maxAgeMs;
		});
	}

	async close(): Promise<void> {
		if (!this.config.ownsClient) return;
		// QUIT fails while Redis is away; the client would then keep reconnecting for ever, so drop it too.
		await this.redis.quit().catch(() => undefined);
		this.redis.disconnect();
	}

	/**
	 * Runs reads as one transaction (one round trip) and returns their replies; a failed command
	 * throws. A transaction rather than a plain pipeline: on Redis Cluster, ioredis follows a MOVED or
	 * ASK for a pipeline only when every command got it, and TIME (no key) answers on any node.
	 */
	private async exec(build: () => ReturnType<RedisClient['multi']>): Promise<unknown[]> {
		const results = await untilSlotSettles(() => build().exec());
		if (!results) throw new Error('Redis returned no reply to a pipeline');
		for (const [error] of results) if (error) throw error;
		return results.map(([, value]) => value);
	}

	/**
	 * One call of a script: its keys of this cluster (in KEY_ORDER) and its JSON argument; with a
	 * test clock, the time goes along (`testNow`, see scripts.ts).
	 */
	private call(script: StoreScript, fields: Record<string, unknown>): ScriptCall {
		const payload = JSON.stringify(this.config.testClock ? { ...fields, testNow: this.config.testClock() } : fields);
		return { script, keys: keysInOrder(this.keys, script.keys), args: [payload] };
	}

	/**
	 * Redis's time from a TIME reply, and how to turn a time stored in Redis's clock into this
	 * process's (`options.now`): the offset between them is measured around the round trip that
	 * carried the TIME command (0 stays 0: "never").
	 */
	private clock(time: [string, string], sentAt = this.options.now()): { now: number; local: (t: number) => number } {
		if (this.config.testClock) return { now: this.config.testClock(), local: (t) => t };
		const now = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
		const shift = Math.round((sentAt + this.options.now()) / 2) - now;
		return { now, local: (t) => (t > 0 ? t + shift : t) };
	}

	private run(script: StoreScript, fields: Record<string, unknown>): Promise<unknown> {
		const { keys, args } = this.call(script, fields);
		this.trips++;
		return untilSlotSettles(() => runScript(this.redis, script, keys, args));
	}
}

/** Abandoned prompts are forgotten after a day without a worker seeing their server answer. */
const TOMBSTONE_TTL_MS = 24 * 3600_000;

function member(lease: Lease): string {
	return `${lease.serverId}|${lease.id}`;
}
