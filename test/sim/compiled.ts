/**
 * The simulator as plain JavaScript, for child processes that must start fast: a child that compiles
 * TypeScript itself (ts-node) spends about 2 s of CPU loading the compiler, so N children on a 2-core
 * machine take N seconds. Here the sources of test/sim are transpiled once per content (in a helper
 * process, so the compiler is not loaded into this one) into `<tmpdir>/comfyui-sim-js-<hash>/`, and
 * each child is plain `node child.js`.
 */
import { execFile } from 'child_process';
import { createHash } from 'crypto';
import { existsSync, readdirSync, readFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import { promisify } from 'util';

const run = promisify(execFile);

/** Transpiles each file (CommonJS, as tsconfig.json) into a fresh folder, then renames it into place. */
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
	fs.writeFileSync(path.join(tmp, f.replace(/\\.ts$/, '.js')), js);
}
try { fs.renameSync(tmp, out); } catch { fs.rmSync(tmp, { recursive: true, force: true }); } // another process won
`;

const SOURCES = __dirname;

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
	const files = readdirSync(SOURCES)
		.filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'))
		.sort();
	const hash = createHash('sha256');
	hash.update(readFileSync(require.resolve('typescript/package.json')));
	for (const f of files) hash.update(f).update('\0').update(readFileSync(join(SOURCES, f))).update('\0');
	const dir = join(tmpdir(), `comfyui-sim-js-${hash.digest('hex').slice(0, 16)}`);
	if (!existsSync(join(dir, 'child.js'))) {
		await run(process.execPath, ['-e', TRANSPILE, SOURCES, dir, ...files], { timeout: 120_000 });
		if (!existsSync(join(dir, 'child.js'))) throw new Error(`the simulator build in ${dir} has no child.js`);
	}
	return { dir, nodeModules };
}
