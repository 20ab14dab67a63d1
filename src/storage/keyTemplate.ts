/**
 * Object key templates: `{{executionId}}/{{itemIndex}}-{{property}}.{{ext}}`, `sha256/{{sha256}}.{{ext}}`,
 * `{{date:YYYY/MM/DD}}/{{fileName}}`. Pure: the caller supplies every value.
 */
import { randomUUID } from 'crypto';

export interface KeyContext {
	executionId: string;
	itemIndex: number;
	property: string;
	/** Original file name, e.g. `ComfyUI_00001_.png`. */
	fileName?: string;
	/** Extension without dot, e.g. `png`. */
	ext?: string;
	/** Hex SHA-256 of the content, when the template needs it. */
	sha256?: string;
	/** Node name, workflow id and the like. */
	nodeName?: string;
	workflowId?: string;
	now?: Date;
}

export const KEY_PLACEHOLDERS = [
	'executionId',
	'itemIndex',
	'property',
	'fileName',
	'baseName',
	'ext',
	'sha256',
	'sha256short',
	'date',
	'timestamp',
	'uuid',
	'nodeName',
	'workflowId',
] as const;

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_]+)(?::([^}]*))?\s*\}\}/g;

/** Whether rendering needs the content hash (so the caller can compute it only then). */
export function templateNeedsSha256(template: string): boolean {
	for (const match of template.matchAll(PLACEHOLDER)) if (match[1].startsWith('sha256')) return true;
	return false;
}

/** Lists placeholders that are not known, for validation before any upload starts. */
export function unknownPlaceholders(template: string): string[] {
	const known = new Set<string>(KEY_PLACEHOLDERS);
	return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]).filter((name) => !known.has(name));
}

/** Keeps a value to characters every S3 provider and URL handles without surprises. */
export function safeKeyPart(value: string): string {
	return value
		.normalize('NFKC')
		.replace(/[\\/]+/g, '-')
		.replace(/[^A-Za-z0-9._\-=+@,]/g, '-')
		.replace(/-{2,}/g, '-')
		.replace(/^\.+$/, '-');
}

/** Formats a UTC date with tokens YYYY, MM, DD, HH, mm, ss. */
export function formatDate(date: Date, format: string): string {
	const pad = (n: number) => String(n).padStart(2, '0');
	return format.replace(/YYYY|MM|DD|HH|mm|ss/g, (token) => {
		switch (token) {
			case 'YYYY':
				return String(date.getUTCFullYear());
			case 'MM':
				return pad(date.getUTCMonth() + 1);
			case 'DD':
				return pad(date.getUTCDate());
			case 'HH':
				return pad(date.getUTCHours());
			case 'mm':
				return pad(date.getUTCMinutes());
			default:
				return pad(date.getUTCSeconds());
		}
	});
}

export function splitFileName(fileName: string | undefined): { baseName: string; ext: string } {
	if (!fileName) return { baseName: '', ext: '' };
	const name = fileName.split(/[\\/]/).pop() ?? fileName;
	const dot = name.lastIndexOf('.');
	if (dot <= 0) return { baseName: name, ext: '' };
	return { baseName: name.slice(0, dot), ext: name.slice(dot + 1).toLowerCase() };
}

/** Renders a key template. Throws an Error naming the unknown placeholder or the invalid result. */
export function renderKey(template: string, context: KeyContext): string {
	const unknown = unknownPlaceholders(template);
	if (unknown.length > 0) {
		throw new Error(
			`Unknown placeholder {{${unknown[0]}}} in the object key template "${template}". Known placeholders: ${KEY_PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')}`,
		);
	}
	const now = context.now ?? new Date();
	const { baseName, ext: nameExt } = splitFileName(context.fileName);
	const rendered = template.replace(PLACEHOLDER, (_all, name: string, arg: string | undefined) => {
		switch (name) {
			case 'executionId':
				return safeKeyPart(context.executionId);
			case 'itemIndex':
				return String(context.itemIndex);
			case 'property':
				return safeKeyPart(context.property);
			case 'fileName':
				return safeKeyPart(context.fileName || `${context.property}${context.ext ? `.${context.ext}` : ''}`);
			case 'baseName':
				return safeKeyPart(baseName || context.property);
			case 'ext':
				return safeKeyPart(context.ext || nameExt || 'bin');
			case 'sha256':
			case 'sha256short':
				if (!context.sha256) throw new Error(`{{${name}}} needs the content hash, which was not computed`);
				return name === 'sha256' ? context.sha256 : context.sha256.slice(0, 16);
			case 'date':
				return formatDate(now, arg?.trim() || 'YYYY-MM-DD')
					.split('/')
					.map(safeKeyPart)
					.join('/');
			case 'timestamp':
				return String(now.getTime());
			case 'uuid':
				return randomUUID();
			case 'nodeName':
				return safeKeyPart(context.nodeName ?? 'node');
			default:
				return safeKeyPart(context.workflowId ?? 'workflow');
		}
	});
	return normalizeKey(rendered, template);
}

/** U+0000–U+001F and U+007F: providers refuse or mangle them, and a newline in a key breaks listings and logs. */
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
const CONTROL_NAMES: Record<string, string> = { '\n': 'a line feed', '\r': 'a carriage return', '\t': 'a tab', '\u0000': 'a NUL' };

/** Validates a finished key: no control character, no leading slash, no empty or `..` segments, ≤ 1024 bytes. */
export function normalizeKey(key: string, template = key): string {
	const control = CONTROL_CHARACTER.exec(key);
	if (control) {
		const code = `U+${control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
		throw new Error(
			`The object key template ${JSON.stringify(template)} produced the key ${JSON.stringify(key)}, which contains ${CONTROL_NAMES[control[0]] ?? 'a control character'} (${code}) at position ${control.index + 1}; ` +
				'remove line breaks and other control characters from the template (in an expression, .trim() drops a trailing newline)',
		);
	}
	const cleaned = key
		.trim()
		.replace(/\/{2,}/g, '/')
		.replace(/^\/+/, '');
	if (cleaned === '' || cleaned.endsWith('/')) {
		throw new Error(`The object key template "${template}" produced an empty file name ("${key}")`);
	}
	if (cleaned.split('/').some((segment) => segment === '..' || segment === '.')) {
		throw new Error(`The object key "${cleaned}" contains a "." or ".." path segment, which providers reject`);
	}
	if (Buffer.byteLength(cleaned) > 1024) {
		throw new Error(`The object key is ${Buffer.byteLength(cleaned)} bytes long; providers accept at most 1024`);
	}
	return cleaned;
}
