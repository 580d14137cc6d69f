# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: bench_records
short_description: Turn registered vllm_bench runs into benchmark records
version_added: 0.1.0
description:
  - One record per scenario run - C(host), C(scenario), C(settings), C(results) (the normalized keys of
    M(inferops.gpu_inference.vllm_bench)), C(gpu) (utilisation summary) and C(gpu_series), C(server_metrics)
    (the change of vLLM's C(/metrics) counters over the run - requests, prompt and generation tokens, preemptions -
    and KV-cache usage after it, parsed with C(prometheus_client)), and C(cost_per_million_output_tokens) when a
    price is given.
  - The same file also provides C(bench_gate_misses) (SLO gates), C(bench_miss_table) (Markdown table of misses),
    C(bench_scenario_problems) and C(bench_sweep_problems) (validation of the scenarios and of the concurrency sweep's
    levels), C(bench_sweep_scenario) (one concurrency-sweep scenario), C(bench_perf_gate_problems) (validation of a
    performance gate, C(vllm_server_perf_gate)), C(bench_canary_rows) (a rolling redeploy's
    performance gate - new against old, per scenario and metric) and C(capacity_row) (a capacity search's report
    row - capacity, output tok/s there, cost per million output tokens, joules per output token).
  - C(capacity_problems) - a dict of the role's C(vllm_bench_capacity_*) settings (keys - the variable names) to the list of their problems.
author:
  - inferops engineers (@inferops)
requirements:
  - prometheus_client (on the controller)
options:
  _input:
    description: The C(results) list of a looped, registered M(inferops.gpu_inference.vllm_bench) task.
    type: list
    elements: dict
    required: true
  host:
    description: The host the runs belong to.
    type: str
    required: true
  price_per_hour:
    description: Price of the node per hour, for cost per million output tokens; 0 for none.
    type: float
    default: 0
"""

EXAMPLES = r"""
- name: Records and SLO misses
  ansible.builtin.set_fact:
    records: "{{ runs.results | inferops.gpu_inference.bench_records(inventory_hostname, 2.5) }}"
    misses: "{{ runs.results | inferops.gpu_inference.bench_records(inventory_hostname)
                | inferops.gpu_inference.bench_gate_misses({'ttft_p99_ms': 500, 'failed_requests': 0}) }}"
"""

RETURN = r"""
_value:
  description: One record per run.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import bench_report, capacity


def bench_records(runs, host, price_per_hour=0):
    try:
        return bench_report.records(runs, host, price_per_hour)
    except KeyError as exc:
        raise AnsibleFilterError('bench_records: a run of %s lacks %s (the vllm_bench module\'s results are expected)' % (host, exc))
    except (AttributeError, TypeError, ValueError) as exc:
        raise AnsibleFilterError('bench_records: the runs of %s are not the vllm_bench module\'s results: %s' % (host, exc))


def capacity_row(search, host, price_per_hour=0, node_type=''):
    try:
        return capacity.node_summary(host, search, price_per_hour, node_type)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError('capacity_row: the capacity search of %s (price per hour %r) cannot be summed up: %s'
                                 % (host, price_per_hour, exc))


# The capacity search's settings, by the role variable that holds each.
CAPACITY_VARS = dict((key, 'vllm_bench_capacity_' + key) for key in (
    'mode', 'low', 'high', 'precision', 'max_runs', 'num_prompts', 'ttft_p99_ms', 'tpot_p99_ms', 'input_len', 'output_len'))


def capacity_problems(settings):
    """The problems of the role's capacity settings ({vllm_bench_capacity_low: ..., ...}), named as the role's variables."""
    if not isinstance(settings, dict):
        raise AnsibleFilterError('capacity_problems: expects a dict of vllm_bench_capacity_* settings, got %s' % type(settings).__name__)
    values = dict((key, settings.get(var)) for key, var in CAPACITY_VARS.items())
    return capacity.settings_problems(names=CAPACITY_VARS, **values)


class FilterModule(object):
    def filters(self):
        return {
            'bench_records': bench_records,
            'bench_gate_misses': bench_report.gate_misses,
            'bench_miss_table': bench_report.miss_table,
            'bench_scenario_problems': bench_report.scenario_problems,
            'bench_sweep_problems': bench_report.sweep_problems,
            'bench_sweep_scenario': bench_report.sweep_scenario,
            'bench_canary_rows': bench_report.canary_rows,
            'bench_perf_gate_problems': bench_report.perf_gate_problems,
            'capacity_row': capacity_row,
            'capacity_problems': capacity_problems,
        }
