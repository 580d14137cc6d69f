# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: runpod_pod_problems
short_description: What is wrong with a list of RunPod pod settings, before any API call
version_added: 0.2.0
description:
  - Checks each pod of a list (the options of M(inferops.gpu_inference.runpod_pod), as C(provision.yml)'s
    C(runpod_pods) gives them) the way the module does before it calls the API - the name, C(image) and
    C(gpu_type), counts and sizes, C(ports) with their protocol, C(cloud_type), variable names, secret-looking
    names in C(env) (they belong in C(secret_env)) - and names unknown keys and names used twice.
  - Returns the problems as strings, each naming C(runpod_pods[i].option), the value (never a C(secret_env) value)
    and what is allowed; an empty list when the pods are fine.
author:
  - inferops engineers (@inferops)
options:
  _input:
    description: The pods.
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Check the pods before any API call
  ansible.builtin.assert:
    that: runpod_pods | inferops.gpu_inference.runpod_pod_problems | length == 0
    fail_msg: "{{ runpod_pods | inferops.gpu_inference.runpod_pod_problems | join('; ') }}"
"""

RETURN = r"""
_value:
  description: The problems; empty when there are none.
  type: list
  elements: str
"""

import json

from ansible_collections.inferops.gpu_inference.plugins.module_utils.runpod_api import pod_problems

# The keys provision.yml reads from each runpod_pods item.
POD_KEYS = ('name', 'image', 'gpu_type', 'gpu_count', 'container_disk_gb', 'volume_gb', 'volume_mount_path', 'ports', 'env',
            'secret_env', 'docker_args', 'cloud_type', 'wait_timeout')


def runpod_pod_problems(pods):
    if not isinstance(pods, list):
        return ['runpod_pods must be a list of pods (dictionaries)']
    problems, names = [], []
    for index, pod in enumerate(pods):
        where = 'runpod_pods[%d]' % index
        if not isinstance(pod, dict):
            problems.append('%s must be a dictionary' % where)
            continue
        unknown = sorted(str(k) for k in pod if k not in POD_KEYS)
        if unknown:
            problems.append('%s has unknown key(s) %s; allowed: %s' % (where, ', '.join(unknown), ', '.join(POD_KEYS)))
        # provision.yml gives a pod without an image its default image.
        problems.extend(pod_problems(pod, where, required=('gpu_type',)))
        if pod.get('name') in names:
            problems.append('%s.name=%s is used twice' % (where, json.dumps(pod.get('name'))))
        names.append(pod.get('name'))
    return problems


class FilterModule(object):
    def filters(self):
        return {'runpod_pod_problems': runpod_pod_problems}
