# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: gpu_host_setup_plan
short_description: What the role gpu_host_setup changes on a node, from what the preflight's module read there
version_added: 0.6.0
description:
  - Takes the registered result of M(inferops.gpu_inference.gpu_host_info) and the role's settings, and returns what
    the setup must change - the container engines to install, the C(nvidia) runtime to add to dockerd (and whether
    dockerd must restart), the CDI spec to write again (its devices against the GPUs nvidia-smi lists), the GPUs whose
    persistence mode is off - and C(stops), the reasons to change nothing at all (an engine missing and not to be
    installed, no driver, containers running on a dockerd that must restart, dcgm-exporter as a service without
    systemd).
  - The rules are in one place, C(plugins/plugin_utils/gpu_host_setup_rules.py).
author:
  - inferops engineers (@inferops)
options:
  _input:
    description: The registered result of M(inferops.gpu_inference.gpu_host_info).
    type: dict
    required: true
  settings:
    description: The role's settings, by their variable names (C(gpu_host_setup_*)).
    type: dict
    required: true
  running:
    description: The names of the containers dockerd runs.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: What the setup changes here
  ansible.builtin.set_fact:
    _plan: "{{ _info | inferops.gpu_inference.gpu_host_setup_plan(_settings, _running) }}"
"""

RETURN = r"""
_value:
  description: C(install_engines), C(docker_runtime), C(docker_restart_blocked_by), C(cdi_generate), C(cdi_devices),
    C(persistence_off), C(dcgm_exporter), C(dcgm_exporter_state), C(gpus), C(stops).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import gpu_host_setup_rules


def gpu_host_setup_plan(info, settings, running=None):
    try:
        return gpu_host_setup_rules.plan(info, dict(settings or {}), list(running or []))
    except (ValueError, KeyError) as exc:
        raise AnsibleFilterError('gpu_host_setup_plan: %s' % exc)


class FilterModule(object):
    def filters(self):
        return {'gpu_host_setup_plan': gpu_host_setup_plan}
