const path = require('path');
const { task, src, dest, parallel } = require('gulp');

// tsc does not copy icons or Lua scripts: n8n loads icons with `file:` paths relative to the compiled
// node or credential (the shared light and dark ones in icons/), and the Redis health store loads its
// `.lua` files from beside its compiled module.
function copySharedIcons() {
	return src('icons/**/*.svg').pipe(dest(path.resolve('dist', 'icons')));
}

function copyNodeIcons() {
	return src('nodes/**/*.{png,svg}', { allowEmpty: true }).pipe(dest(path.resolve('dist', 'nodes')));
}

function copyCredentialIcons() {
	return src('credentials/**/*.{png,svg}', { allowEmpty: true }).pipe(dest(path.resolve('dist', 'credentials')));
}

function copyLua() {
	return src('src/**/*.lua').pipe(dest(path.resolve('dist', 'src')));
}

task('build:icons', parallel(copySharedIcons, copyNodeIcons, copyCredentialIcons, copyLua));
