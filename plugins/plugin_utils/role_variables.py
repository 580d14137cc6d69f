# -*- coding: utf-8 -*-
# Copyright: inferops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Variables with a role's prefix that the role does not have: a mistyped setting (vllm_bench_extra_args,
vllm_server_max_model_length) would be ignored without a word. The role's argument spec is the one home of its
settings' names; its outputs are the facts it sets for others to read."""
from __future__ import annotations

import difflib
import os

import yaml

ROLES = os.path.join(os.path.dirname(__file__), '..', '..', 'roles')
_OPTIONS = {}


def options(role):
    """The option names of every entry point of a role of this collection (read once per process)."""
    if role not in _OPTIONS:
        with open(os.path.join(ROLES, role, 'meta', 'argument_specs.yml')) as handle:
            specs = yaml.load(handle, Loader=getattr(yaml, 'CSafeLoader', yaml.SafeLoader))['argument_specs']
        _OPTIONS[role] = frozenset(name for spec in specs.values() for name in (spec.get('options') or {}))
    return _OPTIONS[role]


def unknown(names, role, outputs=()):
    """One message per name with the role's prefix that is neither an option nor an output, with the closest one."""
    known = sorted(options(role) | set(outputs))
    prefix = role + '_'
    found = []
    for name in sorted(set(str(n) for n in names)):
        if name.startswith(prefix) and name not in known:
            close = difflib.get_close_matches(name, known, 1, 0.8)
            found.append('%s is not a variable of the role %s%s' % (
                name, role, ' (did you mean %s?)' % close[0] if close else '; its settings are listed by ansible-doc -t role'))
    return found
