#!/usr/bin/env bash
# What would be published (after `npm run build`): `npm pack --dry-run --json` must hold the compiled
# nodes, credentials, codex files, engine, icons and Lua scripts, and no tests, fixtures, benchmarks or
# TypeScript sources (.d.ts aside). Then n8n's community-package scanner on the packed tarball.
#
# The scanner's command line (`npx @n8n/scan-community-package <name>`) takes a package on the npm
# registry only: it asks the registry for the package, wants npm provenance, and downloads the source
# from the GitHub commit the provenance names; neither a tarball nor a path works, nor an unpublished
# package. So this script installs the scanner (registry only, install scripts off) and runs its two
# analyses itself (scripts/check-pack.mjs scan): the sources, and the tarball's compiled .js and
# package.json. Findings of rules that README.md explains (section "Community-package scanner") pass;
# any other fails. Without the registry the scanner step is skipped with a warning, unless
# CHECK_PACK_SCANNER=required.
#   SCANNER_VERSION (default 0.32.0), SCANNER_DIR (default ~/.cache/n8n-scan-community-package/<version>)
set -euo pipefail
cd "$(dirname "$0")/.."

SCANNER_VERSION="${SCANNER_VERSION:-0.32.0}"
SCANNER_DIR="${SCANNER_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/n8n-scan-community-package/$SCANNER_VERSION}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

[[ -d dist ]] || { echo "check-pack: no dist/; run npm run build first" >&2; exit 1; }

npm pack --dry-run --json --ignore-scripts >"$WORK/pack.json" 2>"$WORK/pack.err" || { cat "$WORK/pack.err" >&2; exit 1; }
node scripts/check-pack.mjs contents "$WORK/pack.json"

TARBALL="$WORK/$(npm pack --silent --ignore-scripts --pack-destination "$WORK" | tail -n 1)"
mkdir -p "$WORK/package"
tar -xzf "$TARBALL" -C "$WORK/package" --strip-components=1

SCANNER="$SCANNER_DIR/node_modules/@n8n/scan-community-package/scanner/scanner.mjs"
if [[ ! -f "$SCANNER" ]]; then
	mkdir -p "$SCANNER_DIR"
	[[ -f "$SCANNER_DIR/package.json" ]] || printf '{"private":true}\n' >"$SCANNER_DIR/package.json"
	# Install scripts off: the scanner's lint plugin pulls in n8n-workflow, whose isolated-vm would build.
	if ! (cd "$SCANNER_DIR" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error \
		"@n8n/scan-community-package@$SCANNER_VERSION" >"$WORK/scanner-install.log" 2>&1); then
		if [[ "${CHECK_PACK_SCANNER:-}" == required ]]; then cat "$WORK/scanner-install.log" >&2; exit 1; fi
		echo "check-pack: WARNING: could not install @n8n/scan-community-package@$SCANNER_VERSION (no registry?); scanner step skipped" >&2
		exit 0
	fi
fi
node scripts/check-pack.mjs scan "$SCANNER" "$PWD" "$WORK/package"
