#!/usr/bin/env bash
# Every test of the collection, stage by stage, with each stage's wall time.
# Called by `make test` (after the venv, the Docker engine and the test images exist).
#
# The stages that judge no server's speed run in two lanes at once, each mostly on one core:
# the integration battery (ansible-playbook runs) beside unit, lint, sanity, galaxy and
# versions (whose preflight scenario times nothing). Their lines are printed as they come,
# marked [1] and [2]. Molecule and the journey, which measure servers (performance gates,
# start-up times), then run alone.
set -uo pipefail
cd "$(dirname "$0")/.."
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

stage() {
  local name=$1; shift
  local t0=$SECONDS result=ok
  printf '\n===== stage: %s =====\n' "$name"
  "$@" || result=FAILED
  echo "$result $((SECONDS - t0))" > "$results/$name"
  printf '===== stage %s: %s in %ss\n' "$name" "$result" $((SECONDS - t0))
}

t0=$SECONDS
(
  stage unit      python -m pytest -q tests/unit
  stage lint      ansible-lint --profile production
  stage sanity    tests/sanity.sh
  stage galaxy    tests/galaxy_importer.sh
  stage versions  tests/versions.sh
) 2>&1 | sed -u 's/^/[1] /' &
(
  # Two workers: each case is an ansible-playbook run, and the cases share nothing (ports from
  # the kernel, folders of their own); a file's cases stay on one worker.
  stage integration python -m pytest -q -n 2 --dist loadfile tests/integration
) 2>&1 | sed -u 's/^/[2] /' &
wait
printf '\n===== the two lanes took %ss =====\n' $((SECONDS - t0))

stage molecule  tests/molecule.sh ${INFEROPS_MOLECULE_SCENARIOS:-}
stage journey   python -m pytest -q -s tests/journey

printf '\n===== stage times =====\n'
failed=0
for name in unit integration lint sanity galaxy versions molecule journey; do
  { read -r result seconds < "$results/$name"; } 2>/dev/null || { result=MISSING; seconds=0; }
  [ "$result" = ok ] || failed=1
  printf '%-12s %-7s %5ss\n' "$name" "$result" "$seconds"
done
printf '%-12s %-7s %5ss\n' total '' "$SECONDS"
exit $failed
