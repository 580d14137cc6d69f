#!/usr/bin/env bash
# ansible-test sanity must run from a path ending in ansible_collections/NS/NAME: copy the
# files git knows (tracked, and untracked but not ignored) into such a tree and run there.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=${INFEROPS_SANITY_DIR:-/var/tmp/inferops-sanity}/ansible_collections/inferops/gpu_inference
rm -rf --one-file-system "$dest"
mkdir -p "$dest"
(cd "$root" && git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$dest")
cd "$dest"
git init -q && git add -A && git -c user.name=sanity -c user.email=sanity@localhost commit -q -m sanity
# --venv: ansible-test makes its own pinned virtualenvs for each sanity test (from PyPI).
ansible-test sanity --venv --python "$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')" \
  --skip-test shellcheck "$@"
