/**
 * What every fuzzed call must do: return, or throw one of the error classes the module documents,
 * with a message a person can read. A TypeError, RangeError or SyntaxError escaping is a bug.
 */
import fc from 'fast-check';

// eslint-disable-next-line @typescript-eslint/ban-types
export type ErrorClass = Function & { prototype: Error };

/** Seed of every property run (printed by fast-check on failure, so a failure can be replayed). */
export const FUZZ = { seed: Number(process.env.FUZZ_SEED ?? 20240611), numRuns: Number(process.env.FUZZ_RUNS ?? 300) };

export function params(numRuns = FUZZ.numRuns): fc.Parameters<unknown> {
	return { seed: FUZZ.seed, numRuns };
}

/** Runs `fn`; a throw must be an instance of one of `allowed`, with a non-empty message. Returns the error, if any. */
export function returnsOrThrowsDocumented<T>(fn: () => T, allowed: readonly ErrorClass[]): { value?: T; error?: Error } {
	try {
		return { value: fn() };
	} catch (error) {
		assertDocumented(error, allowed);
		return { error: error as Error };
	}
}

export function assertDocumented(error: unknown, allowed: readonly ErrorClass[]): void {
	if (!(error instanceof Error)) throw new Error(`threw a non-Error: ${String(error)}`);
	if (!allowed.some((cls) => error instanceof cls) || error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError) {
		throw new Error(`threw an undocumented ${error.name}: ${error.message}\n${error.stack ?? ''}`);
	}
	if (!error.message.trim()) throw new Error(`threw ${error.name} with an empty message`);
	if (error.message.includes('[object Object]')) throw new Error(`${error.name} message interpolates an object: ${error.message}`);
}

/** Awaits `promise` but fails if it takes longer than `ms` (a hang). */
export async function timeBoxed<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
	});
	try {
		return await Promise.race([promise, timeout]);
	} finally {
		if (timer) clearTimeout(timer);
	}
}

/** A JSON value, its text, or the text cut short / with a stray byte: what a pasted workflow may be. */
export function mangledJsonText(value: fc.Arbitrary<unknown>): fc.Arbitrary<string> {
	return fc.oneof(
		value.map((v) => JSON.stringify(v) ?? 'null'),
		fc.tuple(value, fc.nat()).map(([v, n]) => {
			const text = JSON.stringify(v) ?? 'null';
			return text.slice(0, n % (text.length + 1));
		}),
		fc.tuple(value, fc.nat(), fc.constantFrom('{', '}', '[', ']', ',', ':', '"', '\\', '\u0000', 'NaN', '//')).map(([v, n, junk]) => {
			const text = JSON.stringify(v) ?? 'null';
			const at = n % (text.length + 1);
			return text.slice(0, at) + junk + text.slice(at);
		}),
	);
}
