#!/usr/bin/env bash
# The monitoring host image (tests/integration/test_monitoring.py): the node image plus what role
# vllm_monitoring installs, baked in so that the test's converge needs no network - Debian's
# prometheus, prometheus-alertmanager, openjdk-17-jre-headless (ansible-rulebook's rules engine runs
# on Java), an SSH client (the rulebook's playbooks reach the nodes over SSH), and the role's
# virtualenv with its pinned ansible-rulebook and ansible (same path and pins as the role's
# defaults: the role finds them installed and changes nothing). The role still writes every
# configuration file and starts every process itself.
# Also puts promtool (a static binary of Debian's prometheus package, from this image) beside the
# virtualenv's Python, for the alert rules' unit test (tests/unit/roles/vllm_monitoring).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=tests/bed/lib.sh
. "$here/lib.sh"

image=${INFEROPS_MONITORING_IMAGE:-inferops/monitoring:bookworm}
base=${INFEROPS_NODE_IMAGE:-inferops/node:bookworm}
venv=/opt/inferops-eda/venv
# The role's pins (roles/vllm_monitoring/defaults/main.yml, vllm_monitoring_eda_packages).
packages=$(python3 -c 'import sys, yaml; print(" ".join(yaml.safe_load(open(sys.argv[1]))["vllm_monitoring_eda_packages"]))' \
  "$root/roles/vllm_monitoring/defaults/main.yml" 2>/dev/null \
  || sed -n '/^vllm_monitoring_eda_packages:/,/^[^ ]/s/^  - //p' "$root/roles/vllm_monitoring/defaults/main.yml" | tr '\n' ' ')
[ -n "$packages" ] || { log "no vllm_monitoring_eda_packages in the role's defaults"; exit 1; }
dockerfile=$(cat <<EOF
FROM $base
RUN printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d \\
 && apt-get update -qq \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \\
      prometheus prometheus-alertmanager openjdk-17-jre-headless openssh-client python3-venv >/dev/null \\
 && rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d
RUN python3 -m venv $venv && $venv/bin/pip install -q --no-cache-dir $packages
CMD ["sleep", "infinity"]
EOF
)
base_id=$(docker image inspect --format '{{.Id}}' "$base")
hash=$(inputs_hash "$0" <<<"$base_id $dockerfile")
if image_is_current "$image" "$hash"; then
  log "$image is current ($hash)"
else
  log "building $image (Debian's prometheus, alertmanager, Java 17; ansible-rulebook in $venv)"
  docker build -q --network host --label "inferops.bed.hash=$hash" -t "$image" - <<<"$dockerfile" >/dev/null
  log "built $image"
fi

# promtool for the unit test of the alert rules, where the machine has none.
dest=${INFEROPS_PROMTOOL_DIR:-$root/.venv/bin}
if ! command -v promtool >/dev/null && [ -d "$dest" ] && [ ! -x "$dest/promtool" ]; then
  cid=$(docker create "$image")
  docker cp "$cid:/usr/bin/promtool" "$dest/promtool" && log "promtool (Debian's, from $image) -> $dest/promtool"
  docker rm "$cid" >/dev/null
fi
