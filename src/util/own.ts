/**
 * `record[key]` only when `record` holds `key` itself. Names that come from a server's catalogue or an
 * author's JSON (`constructor`, `toString`, `__proto__`, `hasOwnProperty`) must never find what every
 * object inherits from Object.prototype.
 */
export function own<T>(record: Readonly<Record<string, T>> | null | undefined, key: string): T | undefined {
	return record !== null && record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}
