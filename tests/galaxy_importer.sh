#!/usr/bin/env bash
# What Galaxy runs on an upload: galaxy-importer on the built collection (docs through ansible-doc,
# role READMEs, ansible-lint). Its ansible-test step is off: it needs Galaxy's container runtime;
# tests/sanity.sh runs ansible-test sanity here. galaxy-importer lives in a virtualenv of its own
# (.venv-galaxy): it pins its own ansible-core and ansible-lint.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${INFEROPS_GALAXY_VENV:-.venv-galaxy}
if ! "$venv/bin/python" -c 'import galaxy_importer' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'galaxy-importer==0.4.44' 2> >(grep -v "is ignored: it is neither" >&2)
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
ansible-galaxy collection build --output-path "$out" >/dev/null
printf '[galaxy-importer]\nRUN_ANSIBLE_TEST = False\nRUN_ANSIBLE_LINT = True\n' >"$out/importer.cfg"
# From the build folder: the importer writes importer_result.json where it runs.
venv=$(cd "$venv" && pwd)
(cd "$out" && PATH="$venv/bin:$PATH" GALAXY_IMPORTER_CONFIG="$out/importer.cfg" \
  "$venv/bin/python" -m galaxy_importer.main "$out"/*.tar.gz >"$out/log" 2>&1) || true
grep -v '^Loading ' "$out/log"
grep -q 'Importer processing completed successfully' "$out/log"
