#!/usr/bin/env bash
# Make sure a Docker engine answers on this machine: install Debian's docker.io and
# debootstrap when missing, start dockerd when no engine answers. Idempotent.
set -euo pipefail

log() { printf '[bed] %s\n' "$*" >&2; }

need_pkgs=()
command -v dockerd >/dev/null 2>&1 || need_pkgs+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need_pkgs+=(debootstrap)
# Headless Chromium renders the benchmark report in a test (tests/integration).
command -v chromium >/dev/null 2>&1 || need_pkgs+=(chromium)
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  log "installing ${need_pkgs[*]} from Debian's archive"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

if docker info >/dev/null 2>&1; then
  exit 0
fi

log "starting dockerd"
mkdir -p /var/log
# setsid: dockerd outlives this script and the make target that started it.
setsid dockerd >/var/log/inferops-dockerd.log 2>&1 < /dev/null &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    log "dockerd is up ($(docker version --format '{{.Server.Version}}'))"
    exit 0
  fi
  sleep 1
done
log "dockerd did not answer within 60 s; last lines of /var/log/inferops-dockerd.log:"
tail -n 30 /var/log/inferops-dockerd.log >&2 || true
exit 1
