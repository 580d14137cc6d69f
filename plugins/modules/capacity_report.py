#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: capacity_report
short_description: Write the fleet's capacity-at-SLO report on the controller
version_added: 0.3.0
description:
  - Gathers the C(vllm_bench_capacity) that the P(inferops.gpu_inference.vllm_bench#role) role's C(capacity) entry
    point set on each host and writes C(<root>/capacity-<stamp>/) with C(results.json) (every node's row and every
    search step), C(summary.md) and C(report.html) - per node type and per node, the capacity, output tok/s there,
    cost per million output tokens and joules per output token; p99 TTFT and p99 TPOT against the request rate with
    the SLO line and the capacity found marked (inline SVG, no script, opens offline).
  - Then points C(<root>/capacity-latest) at it. Runs on the controller only; in check mode it writes nothing.
author:
  - inferops engineers (@inferops)
extends_documentation_fragment:
  - inferops.gpu_inference.report
options:
  hosts:
    description: The searched hosts.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Write the capacity report
  inferops.gpu_inference.capacity_report:
    hosts: "{{ groups['gpu_nodes'] }}"
    root: "{{ lookup('ansible.builtin.env', 'HOME') }}/inferops-reports"
"""

RETURN = r"""
dir:
  description: The report folder.
  returned: always
  type: str
files:
  description: Paths of results.json, summary.md and report.html.
  returned: always
  type: dict
nodes:
  description: One row per node (capacity, output tok/s, cost and energy per output token, runs, why the search stopped).
  returned: always
  type: list
  elements: dict
types:
  description: One row per node type.
  returned: always
  type: list
  elements: dict
table:
  description: The per-type table as Markdown lines.
  returned: always
  type: list
  elements: str
"""
