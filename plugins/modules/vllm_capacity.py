#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vllm_capacity
short_description: Find the highest request rate or concurrency a vLLM server sustains within its SLOs
version_added: 0.3.0
description:
  - Searches for a node's capacity at its SLOs, each step one real C(vllm bench serve) run through
    M(inferops.gpu_inference.vllm_bench) on the node. A step passes when no request failed and the p99 TTFT and
    p99 TPOT are within O(ttft_p99_ms) and O(tpot_p99_ms).
  - "Bracket, then bisect. In V(rate) mode the first run is at an unlimited rate, and the bracket starts at the
    request throughput measured there (the server saturated); in V(concurrency) mode it starts at O(low). A step
    that passes is doubled until one misses (or O(high) passes); one that misses is halved until one passes (a miss
    at O(low) ends the search: the capacity is below the range). Then the interval between the highest pass and the
    lowest miss is halved until the miss is within O(precision) of the pass. The search never goes above a step
    whose requests failed."
  - Runs on the controller (an action plugin), which calls M(inferops.gpu_inference.vllm_bench) on the node once per
    step. The P(inferops.gpu_inference.vllm_bench#role) role's C(capacity) entry point fills O(bench) from its
    variables; P(inferops.gpu_inference.capacity_report#module) writes the fleet report.
author:
  - inferops engineers (@inferops)
attributes:
  action:
    support: full
    description: Runs as an action plugin on the controller; every benchmark run happens on the node.
  check_mode:
    support: full
    description: Validates its options and runs nothing.
  diff_mode:
    support: none
    description: Nothing changes.
options:
  bench:
    description:
      - The M(inferops.gpu_inference.vllm_bench) options every step shares (runner, container, base_url, model,
        input_len, output_len, result_dir, sample_gpu...). The search sets C(request_rate), C(max_concurrency),
        C(num_prompts) and C(result_name) itself.
    type: dict
    required: true
  api_key:
    description: The server's API key, when it has one.
    type: str
  hf_token:
    description: A Hugging Face token for a tokenizer the runs download (as M(inferops.gpu_inference.vllm_bench)'s O(hf_token)).
    type: str
  mode:
    description: What the search varies. V(rate) is the request rate in req/s (Poisson arrivals); V(concurrency) the
      number of requests in flight.
    type: str
    choices: [rate, concurrency]
    default: rate
  ttft_p99_ms:
    description: The p99 time-to-first-token SLO in milliseconds. At least one of O(ttft_p99_ms) and O(tpot_p99_ms).
    type: float
  tpot_p99_ms:
    description: The p99 time-per-output-token SLO in milliseconds.
    type: float
  low:
    description: The lowest rate (or concurrency) searched.
    type: float
    default: 1.0
  high:
    description: The highest rate (or concurrency) searched.
    type: float
    default: 64.0
  precision:
    description: The relative width the search stops at; V(0.1) finds the capacity within 10%.
    type: float
    default: 0.1
  max_runs:
    description: The most benchmark runs one search makes.
    type: int
    default: 12
  num_prompts:
    description: Requests per step. The p99 of fewer than 100 requests is close to their maximum.
    type: int
    default: 100
  probe:
    description: In V(rate) mode, start with a run at an unlimited rate to bound the bracket.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Find the request rate this node sustains with p99 TTFT under 500 ms and p99 TPOT under 50 ms
  inferops.gpu_inference.vllm_capacity:
    bench:
      runner: exec
      container: vllm
      model: my-model
      input_len: 1000
      output_len: 100
      result_dir: /var/lib/inferops/bench
    ttft_p99_ms: 500
    tpot_p99_ms: 50
    low: 0.5
    high: 32
  register: node_capacity
"""

RETURN = r"""
capacity:
  description: The highest passing rate (req/s) or concurrency; null when even O(low) misses.
  returned: success
  type: float
capacity_step:
  description: The run at the capacity (C(x), C(results), C(gpu), C(seconds)).
  returned: success
  type: dict
next_step:
  description: The lowest run that missed (the capacity's upper bound); null when the capacity is the range top.
  returned: success
  type: dict
steps:
  description: Every run in the order it was made, each with C(x), C(role) (saturation, bracket, bisect), C(ok),
    C(why) (the SLOs it missed) and C(results).
  returned: success
  type: list
  elements: dict
runs:
  description: How many benchmark runs the search made.
  returned: success
  type: int
stopped:
  description: Why the search stopped.
  returned: success
  type: str
seconds:
  description: Wall time of the whole search.
  returned: success
  type: float
"""
