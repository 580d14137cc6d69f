#!/usr/bin/env bash
# The collection on the oldest ansible-core that meta/runtime.yml claims and on the newest:
# unit tests, sanity and one Molecule scenario (preflight) on each, in a virtualenv of its
# own (.venv-core-<version>, reused while this file is unchanged); and sanity on the one
# between the main pin and the newest (2.20). The main virtualenv's pinned ansible-core
# (2.19) is what every other stage runs on.
#   tests/versions.sh              # all
#   tests/versions.sh 2.21         # one
#   INFEROPS_VERSIONS_PARTS=molecule tests/versions.sh 2.18   # only its Molecule run (also: unit, sanity)
# tests/run_all.sh runs the unit and sanity parts while the bed's images build, and the
# Molecule part, which needs them, after.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# version  ansible-core pin  Python (ansible-core 2.21 needs 3.12 or newer)  what runs (all: unit, sanity, molecule)
# pylint: the style checks, on the main pin (tests/sanity.sh) and on the newest (what a certification
# run uses); 2.18 and 2.20 skip it and run every other sanity test (validate-modules, import, compile,
# ansible-doc, yamllint, ...), the ones that check the code against that ansible-core.
matrix=(
  "2.18 2.18.19 3.11 all nopylint"
  "2.20 2.20.10 3.12 sanity nopylint"
  "2.21 2.21.5 3.12 all pylint"
)
claimed=$(sed -n 's/^requires_ansible: *"*>=\([0-9]*\.[0-9]*\).*/\1/p' meta/runtime.yml)
[ "$claimed" = "$(echo "${matrix[0]}" | cut -d' ' -f1)" ] || {
  echo "meta/runtime.yml claims >=$claimed but the oldest version tested here is ${matrix[0]%% *}" >&2; exit 1; }

python_for() {  # a CPython of this minor version: on PATH, or one of pyenv's builds
  local want=$1 cand
  for cand in "python$want" ~/.pyenv/versions/"$want".*/bin/python3; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != tuple(map(int, "'"$want"'".split("."))))'; then
      command -v "$cand"; return 0
    fi
  done
  echo "no Python $want here (ansible-core needs it): install it, e.g. with pyenv" >&2; return 1
}

# The collections the tests use (community.docker's connection and Molecule's docker driver, ...)
# are the main virtualenv's `ansible` package's, linked into each virtualenv's site-packages
# (where ansible-core looks, as it does in the main one); this checkout is found through
# ansible.cfg's .collections.
main_collections=$(.venv/bin/python -c 'import ansible_collections; print(list(ansible_collections.__path__)[0])')
stamp_of=$(sha256sum "$0" | cut -c1-16)
parts=" ${INFEROPS_VERSIONS_PARTS:-unit sanity molecule} "
runs() {  # this part is asked for, and this version's row runs it
  [[ "$parts" == *" $1 "* ]] && { [ "$what" = all ] || [ "$1" = sanity ]; }
}
rc=0
for row in "${matrix[@]}"; do
  read -r version pin pyver what lint <<<"$row"
  if [ $# -gt 0 ] && [[ " $* " != *" $version "* ]]; then continue; fi
  venv=$root/.venv-core-$version
  # One maker at a time (tests/run_all.sh runs this version's parts in two lanes at once).
  exec {lock}>"$venv.lock"
  flock "$lock"
  if [ "$(cat "$venv/.stamp" 2>/dev/null)" != "$stamp_of" ]; then
    rm -rf "$venv"
    "$(python_for "$pyver")" -m venv "$venv"
    "$venv/bin/pip" install -q "ansible-core==$pin" molecule==26.10.0 'molecule-plugins[docker]==26.10.12' docker==7.2.0 \
      requests==2.34.2 prometheus-client==0.26.0 jmespath==1.1.0 pytest==9.2.0 supervisor==4.3.0
    ln -s "$main_collections" "$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/ansible_collections"
    echo "$stamp_of" > "$venv/.stamp"
  fi
  flock -u "$lock"
  printf '\n=== ansible-core %s (%s, Python %s) ===\n' "$version" "$("$venv/bin/python" -c "import ansible.release as r; print(r.__version__)")" "$pyver"
  (
    export PATH=$venv/bin:$PATH
    t0=$SECONDS
    if runs unit; then
      python -m pytest -q -p no:cacheprovider tests/unit || exit 1
      echo "--- unit on $version: $((SECONDS - t0)) s"; t0=$SECONDS
    fi
    if runs sanity; then
      # ansible-test keeps its sanity virtualenvs under ~/.ansible/test: a home of this version's own, so
      # that two versions' runs at once (tests/run_all.sh's lanes) never build the same one together.
      mkdir -p "$venv/home"
      skip=(); [ "$lint" = pylint ] || skip=(--skip-test pylint)
      HOME=$venv/home tests/sanity.sh "${skip[@]}" || exit 1
      echo "--- sanity on $version: $((SECONDS - t0)) s"; t0=$SECONDS
    fi
    if runs molecule; then
      tests/molecule.sh preflight || exit 1
      echo "--- molecule preflight on $version: $((SECONDS - t0)) s"
    fi
  ) || { echo "FAILED on ansible-core $version"; rc=1; }
done
exit $rc
