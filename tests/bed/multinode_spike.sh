#!/usr/bin/env bash
# Issue 33's first question, answered on the bed: does vLLM 0.32's CPU build run ONE server across
# TWO nodes (pipeline parallel 2, the multiprocessing backend: --nnodes 2 --node-rank N
# --master-addr, the follower --headless)? Two node containers on a user bridge network of their
# own (gloo over eth0), the bed's tiny Llama (2 layers: one per stage). Prints when the leader
# answers, a completion through it, then what the leader says once the follower is killed.
#
# What it found (2026-12-05): yes, with torch.compile. With --enforce-eager (the bed's setting
# elsewhere) the server starts and /health answers, but the first request fails on the follower:
# vllm/v1/worker/gpu_model_runner.py sync_and_gather_intermediate_tensors asserts
# `self.intermediate_tensors is not None`; those are made only by a dummy pass, which the CPU
# worker runs only when it warms up a compiled model (cpu_model_runner.warming_up_model returns
# at once in compilation mode NONE; VLLM_CPU_CI_ENV skips the warm-up too). torch.compile needs a
# C++ compiler and Python's headers in the image (g++, python3-dev): this script adds them in a
# layer of its own (inferops-spike/vllm-cpu-cc). And with the follower gone, the leader's /health
# still answers 200 while a completion hangs: a group's gate must ask every node, and a token.
# Run by hand (not part of make test): tests/bed/multinode_spike.sh
set -uo pipefail
net=inferops-spike-mn
base=${INFEROPS_VLLM_IMAGE:-inferops/vllm-cpu:0.32.0}
img=inferops-spike/vllm-cpu-cc:0.32.0
port=18777
printf 'FROM %s\nRUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends g++ python3-dev >/dev/null && rm -rf /var/lib/apt/lists/*\n' "$base" \
  | docker build -q --network host -t "$img" - >/dev/null
cleanup() { docker rm -f spike-mn0 spike-mn1 >/dev/null 2>&1; docker network rm "$net" >/dev/null 2>&1; }
cleanup
trap cleanup EXIT
docker network create --subnet 172.31.77.0/24 "$net" >/dev/null
serve=(--network "$net" --shm-size 1g -e VLLM_CPU_OMP_THREADS_BIND=nobind -e GLOO_SOCKET_IFNAME=eth0
       --entrypoint vllm "$img" serve /models/tiny-llama --served-model-name tiny-llama --max-model-len 1024
       --pipeline-parallel-size 2 --nnodes 2 --master-addr 172.31.77.10 --master-port 29501 --distributed-executor-backend mp
       "$@")
docker run -d --name spike-mn1 --ip 172.31.77.11 -e VLLM_HOST_IP=172.31.77.11 "${serve[@]}" --node-rank 1 --headless >/dev/null
docker run -d --name spike-mn0 --ip 172.31.77.10 -e VLLM_HOST_IP=172.31.77.10 -p 127.0.0.1:$port:8000 "${serve[@]}" \
  --node-rank 0 --host 0.0.0.0 --port 8000 >/dev/null
t0=$SECONDS
until curl -sf "http://127.0.0.1:$port/v1/models" >/dev/null; do
  for n in spike-mn0 spike-mn1; do
    [ "$(docker inspect -f '{{.State.Running}}' $n)" = true ] || { echo "$n exited:"; docker logs --tail 30 $n 2>&1; exit 1; }
  done
  [ $((SECONDS - t0)) -lt 400 ] || { echo "not ready after 400 s"; exit 1; }
  sleep 2
done
echo "the leader answers /v1/models after $((SECONDS - t0)) s"
complete() {
  curl -s --max-time 20 "http://127.0.0.1:$port/v1/completions" -H 'Content-Type: application/json' \
    -d '{"model": "tiny-llama", "prompt": "The capital of France is", "max_tokens": 8}'
}
echo "a completion: $(complete | head -c 300)"
docker kill spike-mn1 >/dev/null
sleep 15
echo "the follower killed: leader /health $(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port/health"), a completion: '$(complete | head -c 200)'"
