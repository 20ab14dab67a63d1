const path = require('path');
const { task, src, dest, parallel } = require('gulp');

// tsc does not copy icons or Lua scripts: n8n loads icons with `file:` paths next to the compiled node,
// and the Redis health store loads its `.lua` files from beside its compiled module.
function copyNodeIcons() {
	return src('nodes/**/*.{png,svg}').pipe(dest(path.resolve('dist', 'nodes')));
}

function copyCredentialIcons() {
	return src('credentials/**/*.{png,svg}', { allowEmpty: true }).pipe(dest(path.resolve('dist', 'credentials')));
}

function copyLua() {
	return src('src/**/*.lua').pipe(dest(path.resolve('dist', 'src')));
}

task('build:icons', parallel(copyNodeIcons, copyCredentialIcons, copyLua));
