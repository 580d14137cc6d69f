#!/usr/bin/env bash
# The fresh GPU node of the host setup scenario: tests/bed/setup-node/Dockerfile (the node image
# plus systemd, docker.io and podman; nothing of NVIDIA's).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bed/lib.sh
. "$here/lib.sh"

build_on_base "$0" "${INFEROPS_SETUP_IMAGE:-inferops/setup-node:bookworm}" "${INFEROPS_NODE_IMAGE:-inferops/node:bookworm}" "$here/setup-node"
