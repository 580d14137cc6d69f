#!/usr/bin/env bash
# Every test of the collection, stage by stage, with each stage's wall time.
# Called by `make test` (after the venv, the Docker engine and the test images exist).
#
# The stages that judge no server's speed run in two lanes at once, each mostly on one core,
# balanced by their measured times: unit, lint, sanity, galaxy and the ansible-core versions
# 2.20 and 2.18 in one; the integration battery, ansible-core 2.21 and the Molecule preflight
# scenario (doubles only, it times nothing) in the other. Their lines are printed as they come,
# marked [1] and [2]. Molecule's other scenarios and the journey, which measure servers
# (performance gates, start-up times), then run alone.
set -uo pipefail
cd "$(dirname "$0")/.."
results=$(mktemp -d)
export INFEROPS_MOLECULE_LOGS=$results
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
  stage unit          python -m pytest -q tests/unit
  stage lint          ansible-lint --profile production
  stage sanity        tests/sanity.sh
  stage galaxy        tests/galaxy_importer.sh
  stage versions-2.20 tests/versions.sh 2.20
  stage versions-2.18 tests/versions.sh 2.18
) 2>&1 | sed -u 's/^/[1] /' &
(
  # Two workers: each case is an ansible-playbook run, and the cases share nothing (ports from
  # the kernel, folders of their own); a file's cases stay on one worker.
  stage integration   python -m pytest -q -n 2 --dist loadfile tests/integration
  stage versions-2.21 tests/versions.sh 2.21
  # tests/molecule.sh holds a lock per scenario: the versions' preflight runs take turns with this one.
  stage preflight     tests/molecule.sh preflight
) 2>&1 | sed -u 's/^/[2] /' &
wait
printf '\n===== the two lanes took %ss =====\n' $((SECONDS - t0))

# Every other scenario (or those named in INFEROPS_MOLECULE_SCENARIOS), one after the other.
if [ -n "${INFEROPS_MOLECULE_SCENARIOS:-}" ]; then
  read -r -a scenarios <<<"$INFEROPS_MOLECULE_SCENARIOS"
else
  mapfile -t scenarios < <(find molecule -mindepth 2 -maxdepth 2 -name molecule.yml -printf '%h\n' | xargs -n1 basename | grep -vx preflight | sort)
fi
stage molecule  tests/molecule.sh "${scenarios[@]}"
stage journey   python -m pytest -q -s tests/journey

printf '\n===== stage times =====\n'
failed=0
for name in unit integration lint sanity galaxy versions-2.20 versions-2.18 versions-2.21 preflight molecule journey; do
  { read -r result seconds < "$results/$name"; } 2>/dev/null || { result=MISSING; seconds=0; }
  [ "$result" = ok ] || failed=1
  printf '%-14s %-7s %5ss\n' "$name" "$result" "$seconds"
done
printf '%-14s %-7s %5ss\n' total '' "$SECONDS"
# A failed Molecule scenario's failing tasks, again (its log's end is only the destroy sequence).
for log in "$INFEROPS_MOLECULE_LOGS"/inferops-molecule-*.failed; do
  [ -f "$log" ] || continue
  printf '\n===== %s: its failing tasks =====\n' "$(basename "$log" .failed)"
  sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -a -A 14 'fatal: \[' | grep -av '^[ │]*$' | cut -c1-1500 | tail -60
done
exit $failed
