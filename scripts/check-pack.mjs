// What `npm pack` would publish, and what n8n's community-package scanner says of it.
//   node scripts/check-pack.mjs contents <npm pack --dry-run --json output>
//   node scripts/check-pack.mjs scan <scanner.mjs of @n8n/scan-community-package> <repository> <unpacked tarball>
// `contents` fails when a compiled node, credential, codex file, engine index, icon or Lua script is
// missing, or when tests, fixtures, benchmarks, examples or TypeScript sources (.d.ts aside) would ship.
// `scan` runs the scanner's two legs (the sources, and the tarball's compiled .js and package.json)
// and fails on any error of a rule the README's "Community-package scanner" table does not explain.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** A check that did not hold: its lines go to stderr once stdout is written, and the exit code is 1. */
class Failure extends Error {
	constructor(lines) {
		super(lines.join('\n'));
	}
}
const fail = (lines) => {
	throw new Failure(lines);
};

/** Files of `dir` (relative to `root`) whose name passes `keep`, recursively. */
function filesUnder(root, dir, keep) {
	return readdirSync(join(root, dir)).flatMap((name) => {
		const path = join(dir, name);
		return statSync(join(root, path)).isDirectory() ? filesUnder(root, path, keep) : keep(name) ? [path] : [];
	});
}

function contents([packJson]) {
	const repo = process.cwd();
	const [pack] = JSON.parse(readFileSync(packJson, 'utf8'));
	const files = new Set(pack.files.map((f) => f.path));
	const manifest = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
	const problems = [];
	const need = (path, why) => files.has(path) || problems.push(`missing ${path} (${why})`);

	need('package.json', 'the manifest');
	need('README.md', 'the documentation n8n links to');
	need(manifest.main, 'package.json main');
	for (const node of manifest.n8n.nodes) {
		need(node, 'package.json n8n.nodes');
		need(node.replace(/\.js$/, '.json'), 'the codex n8n reads beside the node');
	}
	for (const credential of manifest.n8n.credentials) need(credential, 'package.json n8n.credentials');
	for (const part of ['cluster', 'comfyui', 'storage', 'util']) need(`dist/src/${part}/index.js`, 'the engine');
	for (const icon of filesUnder(repo, 'icons', (n) => n.endsWith('.svg'))) need(join('dist', icon), 'an icon the nodes and credentials name');
	for (const lua of filesUnder(repo, 'src', (n) => n.endsWith('.lua'))) need(join('dist', lua), 'a Lua script the Redis store loads');

	const forbidden = [
		[/(^|\/)(test|tests|__tests__|fixtures|bench|examples|scripts|docs|coverage)\//, 'tests, fixtures, benchmarks, examples or tooling'],
		[/\.(test|spec)\.[cm]?[jt]s(\.map)?$|\.(test|spec)\.d\.ts$/, 'a test'],
		[/(?<!\.d)\.[cm]?ts$/, 'a TypeScript source'],
		[/\.tsbuildinfo$/, 'a build cache'],
	];
	for (const path of files) {
		const hit = forbidden.find(([pattern]) => pattern.test(path));
		if (hit) problems.push(`${path} would ship (${hit[1]})`);
	}
	if (problems.length) fail([`npm pack would publish the wrong files:`, ...problems.map((p) => `  ${p}`)]);
	const maps = [...files].filter((p) => p.endsWith('.map')).length;
	process.stdout.write(`pack: ${files.size} files, ${Math.round(pack.size / 1024)} KB packed (${Math.round(pack.unpackedSize / 1024)} KB unpacked, ${maps} source maps of shipped code); nodes, credentials, codex, engine, icons and Lua present, no tests or sources\n`);
}

/** Rule ids the README explains in its "Community-package scanner" section. */
function documentedRules(repo) {
	const readme = readFileSync(join(repo, 'README.md'), 'utf8');
	const section = readme.split(/^### Community-package scanner$/m)[1]?.split(/^#{1,3} /m)[0] ?? '';
	return new Set([...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]));
}

/** Errors of the scanner's stylish report, one per finding: file, rule. */
function errorsOf(report, base) {
	const findings = [];
	let file = '';
	for (const line of (report ?? '').split('\n')) {
		if (line.startsWith('/')) file = relative(base, line.trim());
		const match = /^\s+\d+:\d+\s+error\s+.*?\s{2,}(\S+)\s*$/.exec(line);
		if (match) findings.push({ file, rule: match[1] });
	}
	return findings;
}

async function scan([scanner, repo, unpacked]) {
	const { analyzePackage, SOURCE_FILE_PATTERNS } = await import(scanner);
	// The scanner's own legs: the sources it would fetch from the provenance commit, and the tarball.
	const legs = [
		['sources', repo, await analyzePackage(repo, SOURCE_FILE_PATTERNS)],
		['tarball', unpacked, await analyzePackage(unpacked, ['**/*.js', 'package.json'])],
	];
	const documented = documentedRules(repo);
	const unexplained = [];
	for (const [leg, base, result] of legs) {
		if (!result.passed && !result.details) fail([`scanner (${leg}): ${result.message}`]);
		const findings = errorsOf(result.details, base);
		const byRule = new Map();
		for (const f of findings) byRule.set(f.rule, [...(byRule.get(f.rule) ?? []), f.file]);
		const summary = [...byRule].map(([rule, where]) => `${rule} ×${where.length}`).join(', ');
		process.stdout.write(`scanner (${leg}): ${result.passed ? 'passed' : `${findings.length} error(s): ${summary}`}\n`);
		for (const [rule, where] of byRule) if (!documented.has(rule)) unexplained.push(`  ${leg}: ${rule} in ${[...new Set(where)].join(', ')}`);
	}
	if (unexplained.length) {
		fail(['scanner findings the README does not explain (fix them, or explain them in its "Community-package scanner" table):', ...unexplained]);
	}
	process.stdout.write(`scanner: every finding is one the README explains (${[...documented].join(', ')})\n`);
}

const [command, ...args] = process.argv.slice(2);
const commands = { contents, scan };
try {
	if (!commands[command]) fail([`usage: check-pack.mjs contents <pack.json> | scan <scanner.mjs> <repository> <unpacked>`]);
	await commands[command](args);
} catch (error) {
	if (!(error instanceof Failure)) throw error;
	process.stderr.write(`${error.message}\n`);
	process.exitCode = 1;
}
