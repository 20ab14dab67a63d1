/**
 * The simulator as plain JavaScript, for child processes that must start fast: a child that compiles
 * TypeScript itself (ts-node) spends about 2 s of CPU loading the compiler, so N children on a 2-core
 * machine take N seconds. Here the sources of test/sim are transpiled once per content (in a helper
 * process, so the compiler is not loaded into this one) into `<tmpdir>/comfyui-sim-js-<hash>/test/sim/`
 * (with the files of src/ they import beside, at their own paths), and each child is plain `node child.js`.
 */
import { execFile } from 'child_process';
import { createHash } from 'crypto';
import { existsSync, readdirSync, readFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join, relative, resolve } from 'path';
import { promisify } from 'util';

const run = promisify(execFile);

/**
 * Transpiles each file (CommonJS, as tsconfig.json; paths relative to the repository, kept) into a
 * fresh folder, then renames it into place.
 */
const TRANSPILE = `
const fs = require('fs'), path = require('path');
const [src, out, ...files] = process.argv.slice(1);
const ts = require(require.resolve('typescript', { paths: [src] }));
const tmp = out + '.tmp-' + process.pid;
fs.mkdirSync(tmp, { recursive: true });
for (const f of files) {
	const js = ts.transpileModule(fs.readFileSync(path.join(src, f), 'utf8'), {
		fileName: f,
		compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
	}).outputText;
	const target = path.join(tmp, f.replace(/\\.ts$/, '.js'));
	fs.mkdirSync(path.dirname(target), { recursive: true });
	fs.writeFileSync(target, js);
}
try { fs.renameSync(tmp, out); } catch { fs.rmSync(tmp, { recursive: true, force: true }); } // another process won
`;

const SOURCES = __dirname;
const ROOT = resolve(SOURCES, '..', '..');
/** Where the simulator sits in the repository, and so in the build. */
const SIM_DIR = relative(ROOT, SOURCES);

/**
 * The simulator's sources (test/sim, tests left out) and the files outside it that they import
 * (e.g. src/util/mime.ts), found by following relative imports; paths relative to the repository.
 */
function sourceFiles(): string[] {
	const files = new Set(
		readdirSync(SOURCES)
			.filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'))
			.map((f) => join(SIM_DIR, f)),
	);
	const queue = [...files];
	for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
		const text = readFileSync(join(ROOT, file), 'utf8');
		for (const m of text.matchAll(/\bfrom\s+'(\.{1,2}\/[^']+)'/g)) {
			const imported = relative(ROOT, resolve(ROOT, dirname(file), m[1])) + '.ts';
			if (files.has(imported) || !existsSync(join(ROOT, imported))) continue;
			files.add(imported);
			queue.push(imported);
		}
	}
	return [...files].sort();
}

let building: Promise<{ dir: string; nodeModules: string }> | undefined;

/** The folder of the JavaScript build (built on first use); `node_modules` holds the packages it requires. */
export function compiledSimulator(): Promise<{ dir: string; nodeModules: string }> {
	building ??= build().catch((error: unknown) => {
		building = undefined;
		throw error;
	});
	return building;
}

async function build(): Promise<{ dir: string; nodeModules: string }> {
	const nodeModules = dirname(dirname(require.resolve('ws/package.json')));
	// Already running from a build (a child, or a script that loaded the build): that is the folder.
	if (__filename.endsWith('.js') && existsSync(join(__dirname, 'child.js'))) return { dir: __dirname, nodeModules };
	const files = sourceFiles();
	const hash = createHash('sha256');
	hash.update(readFileSync(require.resolve('typescript/package.json')));
	for (const f of files) hash.update(f).update('\0').update(readFileSync(join(ROOT, f))).update('\0');
	const out = join(tmpdir(), `comfyui-sim-js-${hash.digest('hex').slice(0, 16)}`);
	const dir = join(out, SIM_DIR);
	if (!existsSync(join(dir, 'child.js'))) {
		await run(process.execPath, ['-e', TRANSPILE, ROOT, out, ...files], { timeout: 120_000 });
		if (!existsSync(join(dir, 'child.js'))) throw new Error(`the simulator build in ${dir} has no child.js`);
	}
	return { dir, nodeModules };
}
