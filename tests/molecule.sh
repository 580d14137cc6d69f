#!/usr/bin/env bash
# Run Molecule scenarios (all under molecule/, or those named) with `molecule test`.
set -euo pipefail
cd "$(dirname "$0")/.."
scenarios=("$@")
if [ "${#scenarios[@]}" -eq 0 ]; then
  mapfile -t scenarios < <(find molecule -mindepth 2 -maxdepth 2 -name molecule.yml -printf '%h\n' | xargs -n1 basename | sort)
fi
rc=0
for s in "${scenarios[@]}"; do
  t0=$SECONDS
  printf '\n----- molecule scenario: %s -----\n' "$s"
  # One run of a scenario at a time on this machine (its containers and Molecule's state folder
  # have fixed names): make test runs preflight in two lanes, on several ansible-core versions.
  # Its output is also kept (INFEROPS_MOLECULE_LOGS, else /tmp): tests/run_all.sh prints a failed
  # scenario's failing tasks again at the very end, where CI's shortened output still shows them.
  log="${INFEROPS_MOLECULE_LOGS:-/tmp}/inferops-molecule-$s.log"
  if flock "/tmp/inferops-molecule-$s.lock" molecule test -s "$s" 2>&1 | tee "$log"; then r=ok; else r=FAILED; rc=1; mv "$log" "${log%.log}.failed"; fi
  printf -- '----- molecule scenario %s: %s in %ss\n' "$s" "$r" $((SECONDS - t0))
done
exit $rc
