#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: bench_report
short_description: Write the fleet benchmark report on the controller
version_added: 0.1.0
description:
  - Gathers the C(vllm_bench_records) and C(vllm_bench_misses) that the P(inferops.gpu_inference.vllm_bench#role)
    role set on each host and writes C(<root>/bench-<stamp>/) with C(results.json) (all hosts, all scenarios,
    normalized), C(results.csv), C(summary.md) and C(report.html) (inline SVG charts - throughput against
    concurrency, throughput per scenario, TTFT/TPOT/ITL percentiles, GPU utilisation over each run - no scripts, no
    network), then points C(<root>/bench-latest) at it.
  - Compares with a saved baseline run (a previous C(results.json)); shows cost per million output tokens when the
    role was given a price. Hosts that were not benchmarked are listed as misses.
  - Runs on the controller only (an action plugin). In check mode no benchmark ran (the role sets no records), so it
    reads no records, returns no misses and writes nothing, and says in RV(msg) where a run would write.
author:
  - inferops engineers (@inferops)
extends_documentation_fragment:
  - inferops.gpu_inference.report
options:
  hosts:
    description: The benchmarked hosts.
    type: list
    elements: str
    required: true
  baseline:
    description: A previous C(results.json) to compare with.
    type: path
"""

EXAMPLES = r"""
- name: Write the report
  inferops.gpu_inference.bench_report:
    hosts: "{{ groups['gpu_nodes'] }}"
    root: "{{ lookup('ansible.builtin.env', 'HOME') }}/inferops-reports"
  register: bench_written
"""

RETURN = r"""
dir:
  description: The report folder.
  returned: always
  type: str
files:
  description: Paths of results.json, results.csv, summary.md and report.html (empty in check mode).
  returned: always
  type: dict
msg:
  description: In check mode, that nothing ran and where a run would write.
  returned: in check mode
  type: str
misses:
  description: Every SLO miss of every host.
  returned: always
  type: list
  elements: dict
miss_table:
  description: The misses as a Markdown table.
  returned: always
  type: str
records:
  description: How many records the report holds.
  returned: always
  type: int
"""
