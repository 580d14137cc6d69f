#!/usr/bin/env bash
# A host reached over SSH as a user without root, who runs podman rootless: guide 003's server
# (its author ran `podman run` as himself). For the vllm_server_podman Molecule scenario.
#   rootless_podman_host.sh up USER PORT DIR    make USER (subordinate ids for its user namespace),
#                                               an sshd of the bed's on 127.0.0.1:PORT only (its
#                                               host key, config and pid file in DIR; the key
#                                               DIR/id_ed25519 authorized for USER), and the real
#                                               vLLM CPU image in USER's own podman store
#   rootless_podman_host.sh down USER PORT DIR  USER's containers removed, that sshd stopped (the
#                                               user and its image store stay: a reload takes minutes)
#   rootless_podman_host.sh store USER          USER and the image in its store only (make test fills
#                                               the store in the background while other stages run)
# Debian's podman, run rootless: native overlay, host networking (slirp4netns cannot open
# /dev/net/tun here; the podman runtime uses the host's network anyway). Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bed/lib.sh
. "$here/lib.sh"
action=$1 user=$2 port=${3:-} dir=${4:-}
image=${INFEROPS_VLLM_IMAGE:-inferops/vllm-cpu:0.32.0}
as_user() { su - "$user" -c "$1"; }

if [ "$action" = down ]; then
  if id "$user" >/dev/null 2>&1; then
    as_user 'podman rm -f -a -t 0 >/dev/null 2>&1 || true'
  fi
  if [ -f "$dir/sshd.pid" ]; then
    kill "$(cat "$dir/sshd.pid")" 2>/dev/null || true
    rm -f "$dir/sshd.pid"
  fi
  exit 0
fi

missing=()
command -v /usr/sbin/sshd >/dev/null || missing+=(openssh-server)
command -v newuidmap >/dev/null || missing+=(uidmap)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} from Debian's archive (the service itself is not started: the bed runs its own sshd)"
  export DEBIAN_FRONTEND=noninteractive
  # Debian's package starts its service (sshd on every address, port 22) unless a policy forbids it.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! id "$user" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash "$user"
fi
# No password, and not locked ('!'): without PAM, sshd refuses a locked account even with a key.
usermod -p '*' "$user"
grep -q "^$user:" /etc/subuid || usermod --add-subuids 300000-365535 "$user"
grep -q "^$user:" /etc/subgid || usermod --add-subgids 300000-365535 "$user"
home=$(getent passwd "$user" | cut -d: -f6)

# The image, in the user's own store (rootless podman cannot read root's), on the kernel's
# overlay (Debian's podman 4.3 would take vfs: a full copy of the image per layer).
conf=$home/.config/containers/storage.conf
if [ ! -f "$conf" ]; then
  install -d -o "$user" -g "$user" "$home/.config" "$home/.config/containers"
  printf '[storage]\ndriver = "overlay"\n' >"$conf"
  chown "$user:$user" "$conf"
fi
want=$(docker image inspect --format '{{ index .Config.Labels "inferops.bed.hash" }}' "$image")
got=$(as_user "podman image inspect --format '{{ index .Labels \"inferops.bed.hash\" }}' localhost/$image 2>/dev/null" || true)
if [ "$got" != "$want" ]; then
  log "copying $image into $user's podman store (about 2 minutes)"
  docker save "$image" | as_user 'podman load -q >/dev/null && podman image prune -f >/dev/null'
  got=$(as_user "podman image inspect --format '{{ index .Labels \"inferops.bed.hash\" }}' localhost/$image 2>/dev/null" || true)
  [ "$got" = "$want" ] || { log "$user's podman has no localhost/$image at $want after the copy"; exit 1; }
fi
log "$user's podman has localhost/$image ($want)"

[ "$action" = store ] && exit 0

mkdir -p "$dir"
[ -f "$dir/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/ssh_host_ed25519_key"
[ -f "$dir/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C "inferops-bed-$user" -f "$dir/id_ed25519"
install -d -m 700 -o "$user" -g "$user" "$home/.ssh"
install -m 600 -o "$user" -g "$user" "$dir/id_ed25519.pub" "$home/.ssh/authorized_keys"
cat >"$dir/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $port
HostKey $dir/ssh_host_ed25519_key
PidFile $dir/sshd.pid
AllowUsers $user
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
Subsystem sftp internal-sftp
EOF
if ! { [ -f "$dir/sshd.pid" ] && kill -0 "$(cat "$dir/sshd.pid")" 2>/dev/null; }; then
  mkdir -p /run/sshd
  /usr/sbin/sshd -f "$dir/sshd_config"
  log "sshd for $user on 127.0.0.1:$port"
fi
