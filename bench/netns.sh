# Sourced by the benchmark scripts: bench_netns SECONDS "$@" runs the calling
# script again inside its own network namespace (only lo, up), as root, the
# whole run bounded by SECONDS; inside it, it returns at once.
bench_netns() {
	local limit=$1
	shift
	[ "${WIMS_IN_NETNS:-}" = 1 ] && return 0
	[ "$(id -u)" = 0 ] || { echo "$0: needs root (unshare --net)" >&2; exit 1; }
	export WIMS_IN_NETNS=1
	exec timeout -k 5 "$limit" unshare --net -- bash -c 'ip link set lo up || exit 1; exec bash "$0" "$@"' \
		"$0" "$@"
}
