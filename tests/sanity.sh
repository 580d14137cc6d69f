#!/usr/bin/env bash
# ansible-test sanity must run from a path ending in ansible_collections/NS/NAME: copy the
# files git knows (tracked, and untracked but not ignored) into such a tree and run there.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# ansible-test bootstraps pip in its sanity virtualenvs with a script from a host this
# machine cannot reach; it takes a copy saved in its cache instead (see the script).
pip_version=$(python3 -c 'import re, ansible_test._internal.python_requirements as r; print(re.search(r"pip=.([0-9.]+)", open(r.__file__).read()).group(1))')
cache=~/.ansible/test/cache/get_pip_${pip_version//./_}.py
[ -f "$cache" ] || { mkdir -p "$(dirname "$cache")"; cp "$root/tests/bed/get_pip_offline.py" "$cache"; }
# A fresh tree per run, so that two runs on one machine never share it.
tree=$(mktemp -d /var/tmp/inferops-sanity.XXXXXX)
trap 'rm -rf --one-file-system "$tree"' EXIT
dest=$tree/ansible_collections/inferops/gpu_inference
mkdir -p "$dest"
(cd "$root" && git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$dest")
cd "$dest"
git init -q && git add -A && git -c user.name=sanity -c user.email=sanity@localhost commit -q -m sanity
ansible-test sanity --python "$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')" \
  --skip-test shellcheck "$@"
