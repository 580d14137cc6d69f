# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: redact_secrets
short_description: Remove secret values from container inspect output (or any nested data)
version_added: 0.1.0
description:
  - Replaces the value of every C(NAME=value) string and every dictionary key whose name looks secret
    (contains TOKEN, KEY, SECRET, PASSWORD or CREDENTIAL, in any case) with C(<redacted>), and the value
    after a C(--api-key) argument. Used on C(docker inspect) and C(podman inspect) output before it is saved as evidence.
author:
  - inferops engineers (@inferops)
options:
  _input:
    description: Data to clean (lists, dictionaries, strings).
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Save inspect output without secrets
  ansible.builtin.copy:
    content: "{{ inspect | inferops.gpu_inference.redact_secrets | to_nice_json }}"
    dest: /tmp/inspect.json
    mode: "0644"
"""

RETURN = r"""
_value:
  description: The same data, secrets replaced by C(<redacted>).
  type: raw
"""

import re

SECRET = re.compile(r'(?i)(token|key|secret|password|credential)')
MARK = '<redacted>'


def redact_secrets(data):
    if isinstance(data, dict):
        return dict((k, MARK if SECRET.search(str(k)) and isinstance(v, str) and v else redact_secrets(v)) for k, v in data.items())
    if isinstance(data, (list, tuple)):
        out, hide_next = [], False
        for item in data:
            if hide_next:
                out.append(MARK)
                hide_next = False
                continue
            if isinstance(item, str) and item in ('--api-key', '--hf-token'):
                hide_next = True
            out.append(redact_secrets(item))
        return out
    if isinstance(data, str):
        name, sep, value = data.partition('=')
        if sep and value and SECRET.search(name) and ' ' not in name:
            return name + '=' + MARK
    return data


class FilterModule(object):
    def filters(self):
        return {'redact_secrets': redact_secrets}
