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

# GPU bed: a TEST DOUBLE of nvidia-container-runtime-hook on dockerd's PATH, so that dockerd
# registers its NVIDIA device driver and `docker run --gpus` starts for real (the double only
# records what it was asked for; tests/doubles/nvidia_container_runtime_hook_double.py says why).
# dockerd looks for it once, when it starts: an engine this bed started before the double was
# there is restarted.
hook=/usr/local/bin/nvidia-container-runtime-hook
here=$(cd "$(dirname "$0")" && pwd)
new_hook=false
if ! cmp -s "$here/../doubles/nvidia_container_runtime_hook_double.py" "$hook"; then
  install -m 0755 "$here/../doubles/nvidia_container_runtime_hook_double.py" "$hook"
  new_hook=true
fi

if docker info >/dev/null 2>&1; then
  if $new_hook && [ -f /var/log/inferops-dockerd.log ] && pgrep -x dockerd >/dev/null; then
    log "restarting the dockerd this bed started, so that it finds the nvidia-container-runtime-hook double"
    pkill -x dockerd
    for _ in $(seq 1 30); do pgrep -x dockerd >/dev/null || break; sleep 1; done
  else
    exit 0
  fi
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
