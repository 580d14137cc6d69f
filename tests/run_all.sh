#!/usr/bin/env bash
# Every test of the collection, stage by stage, with each stage's wall time.
# Called by `make test` (after the virtualenv exists).
#
# The bed (the Docker engine and the test images: downloads and debootstrap, a fraction of a
# core for minutes on a fresh machine) builds in the background, then podman's image stores fill
# beside the lanes. Lanes [1] and [2] run the stages that judge no server's speed: [1] the
# virtualenvs of ansible-core 2.18 and 2.21, the unit tests, then, once the bed is built, the
# host_setup scenario (apt, dpkg, systemd, dockerd and podman on a fresh node; nothing timed);
# [2] the integration battery once the Docker engine answers, its files that need the images once
# they are built. Molecule's other scenarios and the journey, which measure servers
# (performance gates, start-up times), then run without the lanes. [3] The checks that read the
# code only (lint, ansible-test sanity on the main pin, 2.20, 2.18 with its unit tests and 2.21,
# galaxy-importer), then the preflight scenario (doubles only) on 2.18 and 2.21, run for the whole
# time at the lowest CPU priority: they take the CPU the others leave idle. Lines are printed as
# they come, marked [bed], [1], [2] and [3].
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
  # Whole or not at all: other lanes poll for this file (after_bed).
  echo "$result $((SECONDS - t0))" > "$results/.$name" && mv "$results/.$name" "$results/$name"
  printf '===== stage %s: %s in %ss\n' "$name" "$result" $((SECONDS - t0))
}

after() {  # after NEED NAME CMD...: a stage that needs stage NEED (engine, bed): waits for it, fails at once if NEED failed
  local need=$1 name=$2 result
  shift
  while [ ! -f "$results/$need" ]; do sleep 2; done
  read -r result _ < "$results/$need"
  if [ "$result" != ok ]; then
    echo "FAILED 0" > "$results/.$name" && mv "$results/.$name" "$results/$name"
    printf '===== stage %s: FAILED (the %s was not made)\n' "$name" "$need"
    return
  fi
  stage "$@"
}
after_bed() { after bed "$@"; }

t0=$SECONDS
# The Docker engine first (Debian's docker.io, chromium; what most of the integration battery needs), then the images.
( stage engine tests/bed/ensure_docker.sh; stage bed make --no-print-directory bed ) 2>&1 | sed -u 's/^/[bed] /' &
# Podman's image stores, root's and guide 003's user's (the real vLLM CPU images copied out of Docker:
# gigabytes of disk, minutes on a fresh machine), filled once the bed is built, beside the lanes;
# vllm_server_podman, at the end, finds them full (its converge runs the same scripts: a no-op then).
( after_bed podman-stores bash -c 'tests/bed/load_podman_image.sh && tests/bed/rootless_podman_host.sh store guide003' ) 2>&1 \
  | sed -u 's/^/[bed] /' &
podman_stores=$!
# [3] The checks that read the code only (ansible-test sanity on each ansible-core, galaxy-importer, lint): at the
# lowest CPU priority for the whole run, they take what the other stages leave idle (the bed's downloads, the servers'
# waits) and yield to them, so that no server's timing shares a core with them. Their times are wall times.
# The kernel shares the CPU between groups first (each session is one group, Docker's containers
# another) and by nice only within a group: lane [3] gets a CPU group of its own that runs only on
# CPU no other group wants (cpu.idle, cgroup v1 or v2), and nice 19 where that cannot be made.
idle_group=
for g in /sys/fs/cgroup/cpu/inferops-idle:cpu.shares /sys/fs/cgroup/inferops-idle:cgroup.controllers; do
  # (cgroup v1's cpu controller, or cgroup v2: the file that says which is mounted there)
  if [ -f "${g%/*}/${g#*:}" ] && g=${g%:*} && mkdir -p "$g" 2>/dev/null && [ -f "$g/cpu.idle" ] \
     && echo 1 2>/dev/null >"$g/cpu.idle"; then idle_group=$g; break; fi
done
(
  renice -n 19 -p "$BASHPID" >/dev/null
  if [ -n "$idle_group" ] && echo "$BASHPID" 2>/dev/null >"$idle_group/cgroup.procs"; then echo "lane [3] in $idle_group (cpu.idle)"; fi
  stage lint          ansible-lint --profile production
  stage sanity        tests/sanity.sh
  stage galaxy        tests/galaxy_importer.sh
  stage versions-2.20 tests/versions.sh 2.20
  stage versions-2.18 env INFEROPS_VERSIONS_PARTS="unit sanity" tests/versions.sh 2.18
  # Sanity only: the unit tests run on the main pin and on 2.18 (tests/versions.sh 2.21 alone runs them too).
  stage versions-2.21 env INFEROPS_VERSIONS_PARTS=sanity tests/versions.sh 2.21
  # tests/molecule.sh holds a lock per scenario: the preflight runs take turns.
  after_bed preflight-2.18 env INFEROPS_VERSIONS_PARTS=molecule tests/versions.sh 2.18
  after_bed preflight-2.21 env INFEROPS_VERSIONS_PARTS=molecule tests/versions.sh 2.21
) 2>&1 | sed -u 's/^/[3] /' &
(
  # The virtualenvs of 2.18 and 2.21 (pip installs), made here at normal priority: lane [3] waits for them (a lock).
  stage venvs         env INFEROPS_VERSIONS_PARTS=none tests/versions.sh 2.18 2.21
  stage unit          python -m pytest -q tests/unit
  after_bed host_setup     tests/molecule.sh host_setup
) 2>&1 | sed -u 's/^/[1] /' &
lane1=$!
(
  # Two workers: each case is an ansible-playbook run, and the cases share nothing (ports from
  # the kernel, folders of their own); a file's cases stay on one worker. Once the engine answers
  # (the images still building), then the files marked bed_images once the bed is built.
  after engine integration python -m pytest -q -n 2 --dist loadfile -m 'not bed_images' tests/integration
  after_bed integration-bed python -m pytest -q -n 2 --dist loadfile -m bed_images tests/integration
) 2>&1 | sed -u 's/^/[2] /' &
lane2=$!
wait "$lane1" "$lane2"
printf '\n===== the bed and lanes [1] and [2] took %ss =====\n' $((SECONDS - t0))

# Every other scenario (or those named in INFEROPS_MOLECULE_SCENARIOS), one after the other.
if [ -n "${INFEROPS_MOLECULE_SCENARIOS:-}" ]; then
  read -r -a scenarios <<<"$INFEROPS_MOLECULE_SCENARIOS"
else
  mapfile -t scenarios < <(find molecule -mindepth 2 -maxdepth 2 -name molecule.yml -printf '%h\n' | xargs -n1 basename | grep -vx -e preflight -e host_setup | sort)
fi
wait "$podman_stores"  # vllm_server_podman's images are in
after_bed molecule tests/molecule.sh "${scenarios[@]}"
after_bed journey  python -m pytest -q -s tests/journey
wait  # the checks [3], the podman stores
[ -z "$idle_group" ] || rmdir "$idle_group" 2>/dev/null || true

printf '\n===== stage times =====\n'
failed=0
for name in engine bed podman-stores venvs unit host_setup integration integration-bed molecule journey lint sanity galaxy versions-2.20 versions-2.18 versions-2.21 preflight-2.18 preflight-2.21; do
  { read -r result seconds < "$results/$name"; } 2>/dev/null || { result=MISSING; seconds=0; }
  [ "$result" = ok ] || failed=1
  printf '%-15s %-7s %5ss\n' "$name" "$result" "$seconds"
done
printf '%-15s %-7s %5ss\n' total '' "$SECONDS"
# A failed Molecule scenario's failing tasks, again (its log's end is only the destroy sequence).
for log in "$INFEROPS_MOLECULE_LOGS"/inferops-molecule-*.failed; do
  [ -f "$log" ] || continue
  printf '\n===== %s: its failing tasks =====\n' "$(basename "$log" .failed)"
  sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -a -A 14 'fatal: \[' | grep -av '^[ │]*$' | cut -c1-1500 | tail -60
done
exit $failed
