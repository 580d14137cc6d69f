# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read Container Device Interface (CDI) spec files (stdlib only).

CDI specs (``/etc/cdi``, ``/var/run/cdi``), as written by ``nvidia-ctk cdi generate``, are
YAML or JSON with a ``kind`` (``nvidia.com/gpu``) and ``devices`` with ``name``s. Nodes
have no YAML library, so YAML specs are read for those two things only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

SPEC_DIRS = ('/etc/cdi', '/var/run/cdi')
_KIND = re.compile(r'^kind:\s*["\']?([^"\'\s]+)', re.M)
_DEVICES_BLOCK = re.compile(r'^devices:\s*$', re.M)
_DEVICE_NAME = re.compile(r'^-\s+name:\s*["\']?([^"\'\s]+)|^  -\s+name:\s*["\']?([^"\'\s]+)', re.M)


def parse_spec(text):
    """Return {'kind': str or None, 'devices': [names]} for one spec's text."""
    text = text.strip()
    if text.startswith('{'):
        data = json.loads(text)
        return {'kind': data.get('kind'), 'devices': [d.get('name') for d in data.get('devices') or []]}
    kind = _KIND.search(text)
    devices = []
    block = _DEVICES_BLOCK.search(text)
    if block:
        rest = text[block.end():]
        # The devices list ends at the next top-level key.
        end = re.search(r'^[A-Za-z]', rest, re.M)
        rest = rest[:end.start()] if end else rest
        devices = [a or b for a, b in _DEVICE_NAME.findall(rest)]
    return {'kind': kind.group(1) if kind else None, 'devices': devices}


def find_specs(dirs=SPEC_DIRS):
    """All CDI specs in the given folders: [{'path', 'kind', 'devices'}] (unreadable ones carry 'error')."""
    specs = []
    for folder in dirs:
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            if not name.endswith(('.yaml', '.yml', '.json')):
                continue
            path = os.path.join(folder, name)
            try:
                with open(path) as handle:
                    spec = parse_spec(handle.read())
            except (OSError, IOError, ValueError) as exc:
                spec = {'kind': None, 'devices': [], 'error': str(exc)}
            spec['path'] = path
            specs.append(spec)
    return specs
