#!/usr/bin/env bash
# Every test of the collection, stage by stage, with each stage's wall time.
# Called by `make test` (after the venv, the Docker engine and the test images exist).
set -uo pipefail
cd "$(dirname "$0")/.."
declare -a names=() times=() results=()
failed=0

stage() {
  local name=$1; shift
  local t0=$SECONDS
  printf '\n===== stage: %s =====\n' "$name"
  if "$@"; then results+=(ok); else results+=(FAILED); failed=1; fi
  names+=("$name"); times+=($((SECONDS - t0)))
}

stage unit        python -m pytest -q tests/unit
# Two workers: each case is an ansible-playbook run, and the cases share nothing (ports from the kernel,
# folders of their own); a file's cases stay on one worker.
stage integration python -m pytest -q -n 2 --dist loadfile tests/integration
stage lint      ansible-lint --profile production
stage sanity    tests/sanity.sh
stage galaxy    tests/galaxy_importer.sh
stage versions  tests/versions.sh
stage molecule  tests/molecule.sh ${INFEROPS_MOLECULE_SCENARIOS:-}
stage journey   python -m pytest -q -s tests/journey

printf '\n===== stage times =====\n'
for i in "${!names[@]}"; do
  printf '%-12s %-7s %5ss\n' "${names[$i]}" "${results[$i]}" "${times[$i]}"
done
exit $failed
