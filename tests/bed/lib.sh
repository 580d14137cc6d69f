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

# build_on_base SCRIPT IMAGE BASE DIR: build IMAGE from DIR/Dockerfile (FROM BASE) unless it
# already carries the hash of SCRIPT, DIR's files and BASE's id. Host networking: apt inside
# the build reaches Debian's mirror the way this machine does.
build_on_base() {
  local script=$1 image=$2 base=$3 dir=$4 base_id hash
  base_id=$(docker image inspect --format '{{.Id}}' "$base")
  hash=$(inputs_hash "$script" "$dir"/* <<<"$base_id")
  if image_is_current "$image" "$hash"; then
    log "$image is current ($hash)"; return 0
  fi
  docker build -q --network host --label "inferops.bed.hash=$hash" -t "$image" - < "$dir/Dockerfile" >/dev/null
  log "built $image"
}
