#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: controller_check
short_description: Check what a playbook will need on the controller, before any host is touched
version_added: 0.3.0
description:
  - The collection's playbooks run it in their first play, so that a run does not replace a node and only then fail
    writing its report, or read a baseline mid-rollout.
  - With O(report), checks that reports can be written where they go (O(root), else C($INFEROPS_REPORT_DIR), else
    C(reports/) in the current folder) - the folder, or the nearest folder above it that exists, must be a
    writable folder. Nothing is made.
  - Each file of O(results_files) that is not empty must be a file readable as JSON holding a C(records) list (a
    C(results.json) of C(playbooks/bench.yml)).
  - Fails naming each problem's variable, its value and what is allowed. Runs on the controller only (an action plugin).
author:
  - inferops engineers (@inferops)
attributes:
  action:
    support: full
    description: Runs as an action plugin on the controller; it touches no host.
  check_mode:
    support: full
    description: It only reads, so it runs unchanged in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
options:
  report:
    description: Check the report folder.
    type: bool
    default: false
  root:
    description: The report folder to check; by default where the report actions write.
    type: path
  results_files:
    description: Baseline files by the variable that names them (an empty path is skipped).
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Check the controller's side (report folder, baseline) before any host is touched
  inferops.gpu_inference.controller_check:
    report: true
    results_files:
      vllm_bench_baseline: "{{ vllm_bench_baseline | default('') }}"
  run_once: true
"""

RETURN = r"""
problems:
  description: What is wrong; empty when nothing is.
  returned: always
  type: list
  elements: str
"""
