/**
 * What a soak run must satisfy, checked from the workers' reports and the simulators' records:
 * every scene ended as a success or a clear error; poisoned scenes failed once with their node's
 * error and were not retried; no scene ran (to an end) twice anywhere; no prompt of ours stayed on
 * a server; no server ever held more than its max. Also the summary tables.
 */
import type { ComfyUiSimulator } from '../sim';
import type { FaultKind, FaultRecord } from './chaos';
import { FAULT_KINDS } from './chaos';
import { POISON_MESSAGE, seedOf } from './scenes';
import type { SoakSceneReport } from './soakWorker';

export interface ServerFacts {
	url: string;
	speed: number;
	max: number;
	/** Active prompts when the workers had ended: [promptId, running?, interrupted?]. */
	leftAtEnd: Array<{ promptId: string; running: boolean; interrupted: boolean }>;
	/** Still active after the drain wait. */
	leftAfterDrain: string[];
}

export interface SoakFacts {
	seed: number;
	scenes: SoakSceneReport[];
	expectedScenes: number;
	sims: readonly ComfyUiSimulator[];
	servers: ServerFacts[];
	faults: FaultRecord[];
	operations: number;
	wallMs: number;
	workerErrors: string[];
	workerWarnings: number;
}

export interface SoakReport {
	violations: string[];
	summary: string;
	stats: { ok: number; failed: number; poisoned: number; retries: number; moves: number; faults: number };
}

interface Start {
	server: number;
	promptId: string;
	end: 'success' | 'error' | 'interrupted' | 'lost';
	receivedAt: number;
	finishedAt: number;
}

function restartedBetween(faults: readonly FaultRecord[], server: number, from: number, to: number): boolean {
	return faults.some((f) => f.kind === 'restart' && !f.skipped && f.server === server && f.epochMs >= from && f.epochMs <= to);
}

export function analyse(facts: SoakFacts): SoakReport {
	const violations: string[] = [...facts.workerErrors];
	const startsBySeed = collectStarts(facts.sims);
	const scenes = facts.scenes;
	let rerunAfterRestart = 0;
	if (scenes.length !== facts.expectedScenes) violations.push(`expected ${facts.expectedScenes} scene results, got ${scenes.length}`);

	for (const scene of scenes) {
		const label = `scene seed ${scene.seed}`;
		const starts = startsBySeed.get(scene.seed) ?? [];
		const completed = starts.filter((s) => s.end === 'success' || s.end === 'error');
		// A server that restarts between a prompt's end and our reading of its history forgets the
		// result; running the scene again is then the only way to deliver it.
		const forgotten = completed.filter((run) => completed.some((later) => later.receivedAt > run.finishedAt && restartedBetween(facts.faults, run.server, run.finishedAt, later.receivedAt)));
		rerunAfterRestart += forgotten.length;
		if (completed.length - forgotten.length > 1) {
			violations.push(`${label} ran twice: ${completed.map((s) => `${s.end} on server ${s.server + 1} (${s.promptId}${facts.sims[s.server].records.interrupted.includes(s.promptId) ? ', interrupt asked' : ''})`).join(', ')}; attempts: ${describeAttempts(scene)}`);
		}
		if (scene.ok) {
			const mine = starts.find((s) => s.promptId === scene.promptId);
			if (!mine || mine.end !== 'success') violations.push(`${label} reported success with prompt ${scene.promptId}, which did not finish successfully on any server`);
			if (scene.poisoned) violations.push(`${label} is poisoned but succeeded`);
			if (scene.outputs !== 1) violations.push(`${label} succeeded with ${scene.outputs} outputs instead of 1`);
			continue;
		}
		const message = scene.message ?? '';
		if (!/^Scene \d+ failed: \S/.test(message) || /undefined|\[object Object\]|NaN/.test(message)) {
			violations.push(`${label} failed without a clear message: ${JSON.stringify(message.slice(0, 300))}`);
		}
		if (scene.poisoned) {
			const executions = scene.attempts.filter((a) => a.outcome === 'execution');
			const last = scene.attempts[scene.attempts.length - 1];
			if (scene.causeKind !== 'execution' || !message.includes(POISON_MESSAGE)) violations.push(`${label} is poisoned but failed as ${scene.causeKind}: ${message.slice(0, 300)}`);
			if (executions.length !== 1 || last?.outcome !== 'execution') violations.push(`${label}: an execution error must end the scene at once, attempts were ${scene.attempts.map((a) => a.outcome).join(', ')}`);
		} else if (scene.causeKind !== 'transient') {
			violations.push(`${label} failed as ${scene.causeKind}, only transient failures (attempts used up) are expected: ${message.slice(0, 300)}`);
		}
	}

	facts.servers.forEach((server, i) => {
		const sim = facts.sims[i];
		if (sim.records.peakActive > server.max) violations.push(`server ${i + 1} held ${sim.records.peakActive} prompts at once, its max is ${server.max}`);
		for (const left of server.leftAtEnd) {
			if (!left.running) violations.push(`server ${i + 1}: prompt ${left.promptId} was left queued after the workers ended`);
			else if (!left.interrupted) violations.push(`server ${i + 1}: prompt ${left.promptId} was left running, not interrupted, after the workers ended`);
		}
		for (const id of server.leftAfterDrain) violations.push(`server ${i + 1}: prompt ${id} still queued or running after the drain wait`);
	});

	const attempts = scenes.flatMap((s) => s.attempts);
	const stats = {
		ok: scenes.filter((s) => s.ok).length,
		failed: scenes.filter((s) => !s.ok).length,
		poisoned: scenes.filter((s) => s.poisoned).length,
		retries: attempts.filter((a) => a.outcome === 'transient' || a.outcome === 'incapable').length,
		moves: attempts.filter((a) => a.outcome === 'moved').length,
		faults: facts.faults.filter((f) => !f.skipped).length,
	};
	return { violations, stats, summary: summarise(facts, { ...stats, rerunAfterRestart }, startsBySeed) };
}

function describeAttempts(scene: SoakSceneReport): string {
	return scene.attempts.map((a) => `${a.outcome} on ${a.server} (${a.promptId ?? 'no prompt'})${a.reason ? `: ${a.reason.slice(0, 160)}` : ''}`).join(' → ') || 'none';
}

/** Every start of one of our prompts on any server, and how it ended (restart keeps the records). */
function collectStarts(sims: readonly ComfyUiSimulator[]): Map<number, Start[]> {
	const bySeed = new Map<number, Start[]>();
	sims.forEach((sim, server) => {
		const seeds = new Map(sim.records.prompts.map((p) => [p.promptId, seedOf(p.prompt)]));
		const ends = new Map(sim.records.finished.map((f) => [f.promptId, f]));
		const received = new Map(sim.records.prompts.map((p) => [p.promptId, p.receivedAt]));
		for (const promptId of sim.records.started) {
			const seed = seeds.get(promptId);
			if (seed === undefined) continue;
			const list = bySeed.get(seed) ?? [];
			const end = ends.get(promptId);
			list.push({ server, promptId, end: end?.status ?? 'lost', receivedAt: received.get(promptId) ?? 0, finishedAt: end?.at ?? Number.POSITIVE_INFINITY });
			bySeed.set(seed, list);
		}
	});
	return bySeed;
}

function summarise(facts: SoakFacts, stats: SoakReport['stats'] & { rerunAfterRestart: number }, startsBySeed: Map<number, Start[]>): string {
	const lines: string[] = [];
	const failedTransient = facts.scenes.filter((s) => !s.ok && !s.poisoned).length;
	const failedPoisoned = facts.scenes.filter((s) => !s.ok && s.poisoned).length;
	const injected = facts.faults.filter((f) => !f.skipped);
	const rerun = [...startsBySeed.values()].filter((starts) => starts.length > 1).length;
	lines.push(`seed ${facts.seed} · ${facts.scenes.length} scenes · ${facts.sims.length} servers · wall ${(facts.wallMs / 1000).toFixed(1)} s`);
	lines.push('');
	lines.push(table(
		['scenes', 'ok', 'failed (execution error, expected)', 'failed (attempts used up)', 'retries', 'moves', 'started more than once (earlier start lost or interrupted)', 'run again (result lost to a restart)', 'operations', 'faults injected', 'engine warnings'],
		[[facts.scenes.length, stats.ok, failedPoisoned, failedTransient, stats.retries, stats.moves, rerun, stats.rerunAfterRestart, facts.operations, injected.length, facts.workerWarnings]],
	));
	lines.push('');
	lines.push(table(
		['fault', ...FAULT_KINDS, 'skipped (server busy)'],
		[['count', ...FAULT_KINDS.map((k: FaultKind) => injected.filter((f) => f.kind === k).length), facts.faults.length - injected.length]],
	));
	lines.push('');
	const rows = facts.sims.map((sim, i) => {
		const r = sim.records;
		const ends = (status: string) => r.finished.filter((f) => f.status === status).length;
		const finished = new Set(r.finished.map((f) => f.promptId));
		const lost = r.started.filter((id) => !finished.has(id)).length;
		const faults = injected.filter((f) => f.server === i).length;
		const server = facts.servers[i];
		return [`${i + 1} ${server.url.replace(/^http:\/\//, '')}`, server.speed, server.max, r.prompts.length, r.started.length, ends('success'), ends('error'), ends('interrupted'), lost, r.deleted.length, r.peakActive, faults];
	});
	lines.push(table(['server', 'speed', 'max', 'prompts', 'started', 'success', 'error', 'interrupted', 'lost (restart)', 'deleted', 'peak', 'faults'], rows));
	return lines.join('\n');
}

function table(head: string[], rows: Array<Array<string | number>>): string {
	const cells = [head, ...rows.map((r) => r.map(String))];
	const widths = head.map((_, c) => Math.max(...cells.map((r) => r[c].length)));
	const line = (r: string[]) => `| ${r.map((cell, c) => cell.padEnd(widths[c])).join(' | ')} |`;
	return [line(cells[0]), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}
