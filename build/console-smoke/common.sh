# Shared by build/console-smoke.sh and build/console-load.sh (sourced,
# from the repository's root; POSIX sh).

# fail prints the run's one JSON line for a failure at step $1 (why: $2)
# and exits 1.
fail() {
	printf '{"ok":false,"step":"%s","error":"%s"}\n' "$1" "$2"
	exit 1
}

# build_browser_run WORK PKG... builds the console's page (the server
# embeds it), the Go packages' binaries into WORK/bin, and
# build/console-smoke's Node modules (playwright-core), each logged in
# WORK; a failure shows the end of its log and fails the step "build".
build_browser_run() {
	_work=$1
	shift
	(cd frontend && npm ci --no-audit --no-fund && npm run build) >"$_work/frontend.log" 2>&1 ||
		{ tail -20 "$_work/frontend.log" >&2; fail build "building the frontend failed (see above)"; }
	mkdir -p "$_work/bin"
	go build -o "$_work/bin" "$@" >"$_work/go.log" 2>&1 ||
		{ tail -20 "$_work/go.log" >&2; fail build "building $* failed (see above)"; }
	(cd build/console-smoke && npm ci --no-audit --no-fund) >"$_work/npm.log" 2>&1 ||
		{ tail -20 "$_work/npm.log" >&2; fail build "npm ci in build/console-smoke failed (see above)"; }
}

# end_groups FILE... kills what is left of the process groups listed in
# each FILE (the Node scripts list every process they start, each in a
# group of its own): all of them when a timeout killed a script before it
# could end them, none after a clean end (a group that is gone is no
# matter). Every line succeeds: dash ends a trap with its status.
end_groups() {
	for _f in "$@"; do
		[ -f "$_f" ] || continue
		while read -r _pid; do kill -KILL "-$_pid" 2>/dev/null || true; done <"$_f"
	done
}
