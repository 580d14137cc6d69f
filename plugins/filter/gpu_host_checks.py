# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: gpu_host_checks
short_description: Judge a GPU node's preflight observations
version_added: 0.1.0
description:
  - Turns the result of M(inferops.gpu_inference.gpu_host_info) into a list of named checks, each
    with C(status) (V(ok), V(warn), V(fail) or V(skip)), a C(message) that says what was found and
    what was expected, and the C(found) and C(expected) values.
  - Parses dcgm-exporter's Prometheus text with C(prometheus_client) on the controller.
author:
  - inferops engineers (@inferops)
requirements:
  - prometheus_client (on the controller)
options:
  _input:
    description: The registered result of M(inferops.gpu_inference.gpu_host_info).
    type: dict
    required: true
  expect:
    description:
      - What the host must have. Keys (all optional) C(gpu_count) (int), C(gpu_model_pattern) (regex),
        C(min_gpu_memory_mib) (int), C(min_driver_version) (str), C(min_cuda_version) (str),
        C(persistence_mode) (V(fail), V(warn) or V(ignore) when off), C(mig_mode) (V(disabled), V(enabled) or V(any)),
        C(no_foreign_processes) (bool), C(dcgm_exporter) (bool), C(dcgm_metrics) (list),
        C(container_engine) (V(docker), V(podman), V(any) or V(none)), C(min_model_cache_free_gb) (number),
        C(min_shm_gb) (number), C(do_agent) (bool), C(accelerator) (V(nvidia), or V(cpu) to skip GPU and dcgm checks).
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Judge the observations
  ansible.builtin.set_fact:
    checks: "{{ gpu_host | inferops.gpu_inference.gpu_host_checks({'gpu_count': 8, 'min_driver_version': '550'}) }}"
"""

RETURN = r"""
_value:
  description: One dictionary per check, in a fixed order.
  type: list
  elements: dict
  sample:
    - {check: gpu_count, status: ok, message: "1 GPU(s) found, at least 1 expected", found: 1, expected: 1}
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils.gpu_host_checks import (
    checks_summary, check_line, gpu_host_checks as _judge)


def gpu_host_checks(info, expect=None):
    try:
        return _judge(info, expect)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {
            'gpu_host_checks': gpu_host_checks,
            'gpu_host_checks_summary': checks_summary,
            'gpu_host_check_line': check_line,
        }
