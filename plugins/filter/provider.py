# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: droplet_answer_problems
short_description: What is wrong with a droplet as DigitalOcean's API answered it, before it becomes a host
version_added: 0.3.0
description:
  - Checks a droplet object of DigitalOcean's API (as community.digitalocean's droplet module returns it in
    C(data.droplet)) the way the C(inferops.gpu_inference.digitalocean) inventory plugin checks each droplet it lists -
    its name by the rule M(inferops.gpu_inference.runpod_pod) applies, every address of C(networks) as an IP address,
    ids, slugs, statuses and tags as tokens.
  - Returns the problem (naming the field, the value cut short and what is allowed) in a list; an empty list when the
    droplet is fine. Role C(droplet) checks each droplet it made before its address reaches C(wait_for) and C(add_host).
author:
  - inferops engineers (@inferops)
options:
  _input:
    description: The droplet.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Check DigitalOcean's answer before the droplet becomes a host
  ansible.builtin.assert:
    that: created.data.droplet | inferops.gpu_inference.droplet_answer_problems | length == 0
    fail_msg: "{{ created.data.droplet | inferops.gpu_inference.droplet_answer_problems | join('; ') }}"
"""

RETURN = r"""
_value:
  description: The problems; empty when there are none.
  type: list
  elements: str
"""

from ansible_collections.inferops.gpu_inference.plugins.module_utils.provider_answers import BadAnswer, droplet


def droplet_answer_problems(record):
    try:
        droplet(record)
    except BadAnswer as exc:
        return [str(exc)]
    return []


class FilterModule(object):
    def filters(self):
        return {'droplet_answer_problems': droplet_answer_problems}
