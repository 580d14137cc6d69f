#!/usr/bin/env bash
# The gateway image: tests/bed/gateway/Dockerfile (the node image plus Debian's haproxy).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bed/lib.sh
. "$here/lib.sh"

build_on_base "$0" "${INFEROPS_GATEWAY_IMAGE:-inferops/gateway:bookworm}" "${INFEROPS_NODE_IMAGE:-inferops/node:bookworm}" "$here/gateway"
