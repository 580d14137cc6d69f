# Shared helpers for the test-bed scripts (sourced, not run).
log() { printf '[bed] %s\n' "$*" >&2; }

# inputs_hash FILE...: a short hash of the given files plus whatever is on stdin.
inputs_hash() {
  { cat "$@"; cat; } | sha256sum | cut -c1-16
}

# image_is_current IMAGE HASH: true when IMAGE exists and carries label inferops.bed.hash=HASH.
image_is_current() {
  local got
  got=$(docker image inspect --format '{{ index .Config.Labels "inferops.bed.hash" }}' "$1" 2>/dev/null) || return 1
  [ "$got" = "$2" ]
}
