# -*- coding: utf-8 -*-
# Copyright: inferops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Role settings read as the roles' Jinja read them, for the rules across settings (plugin_utils/*_rules.py).

Ansible's argument-spec validation checks a converted copy of each setting and leaves the variable as given (a
value given with -e is a string), so a rule converts as Jinja's filters did: ``as_int`` is ``| int`` (0 for what
is not a number), ``as_float`` is ``| float``, ``as_bool`` is ``| bool``. ``fullmatch`` is Jinja's ``is match`` with
the pattern anchored at the very end (``$`` let a trailing newline through, into a configuration line).
"""
from __future__ import annotations

import json
import re

from ansible.module_utils.parsing.convert_bool import boolean


def as_int(value, default=0):
    """``value | int``: an int from a number or a string of one ("42", "42.7" -> 42); ``default`` for anything else."""
    try:
        return int(value, 10) if isinstance(value, str) else int(value)
    except (TypeError, ValueError, OverflowError):
        try:
            return int(float(value))
        except (TypeError, ValueError, OverflowError):
            return default


def as_float(value, default=0.0):
    """``value | float``: a float from a number or a string of one; ``default`` for anything else."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def as_bool(value):
    """``value | bool``: true for true, yes, on, 1 (any case) and 1; false for anything else."""
    return boolean(value, strict=False)


def fullmatch(pattern, value):
    """Whether the whole text of ``value`` matches ``pattern`` (a newline at its end included)."""
    return re.fullmatch(pattern, str(value)) is not None


def to_json(value):
    """``value | to_json``, for the messages."""
    return json.dumps(value, sort_keys=False, default=str)


def missing(values, known):
    """The values not in ``known``, once each, in their order (``values | difference(known)``, ordered)."""
    out = []
    for value in values:
        if value not in known and value not in out:
            out.append(value)
    return out


def unique(values):
    """The values once each, in their order (``values | unique``)."""
    return missing(values, ())


def items_of(value):
    """A list setting's items: a list as it is, nothing (None, '') as [], anything else as one item (a string that is
    not a list is named by ``not_lists``)."""
    if isinstance(value, (list, tuple)):
        return list(value)
    return [] if value in (None, '') else [value]


def not_lists(settings, names):
    """A message per setting of ``names`` given as something other than a list (a string given with -e, which the
    argument spec reads as a comma-separated list, the role's tasks would read letter by letter)."""
    return ['%s=%s must be a list (in YAML, or as JSON with -e)' % (name, to_json(settings[name]))
            for name in names if settings.get(name) is not None and not isinstance(settings[name], (list, tuple))]
