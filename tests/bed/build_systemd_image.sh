#!/usr/bin/env bash
# The systemd node image: tests/bed/vllm-systemd/Dockerfile (the pod image plus Debian's systemd).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bed/lib.sh
. "$here/lib.sh"

build_on_base "$0" "${INFEROPS_SYSTEMD_IMAGE:-inferops/vllm-systemd:0.32.0}" "${INFEROPS_POD_IMAGE:-inferops/vllm-pod:0.32.0}" "$here/vllm-systemd"
