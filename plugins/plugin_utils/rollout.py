# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rolling redeploy's settings, in one place: their defaults, the batches (the play's serial),
the canary, and every rule across them (the role ``redeploy``, called once before any node changes).

Private to this collection: read through the filters of ``plugins/filter/rollout.py``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import bench_report

# The defaults, as roles/redeploy/defaults/main.yml and its argument spec say them (a unit test
# holds the three together). The canary's default depends on the performance gate: see canary().
DEFAULTS = {
    'redeploy_serial': 1,
    'redeploy_max_fail_percentage': 0,
    'redeploy_preflight': True,
    'redeploy_perf_baseline': '',
    # Not given: the canary's size follows the gate (see canary()); no gate.
    'redeploy_canary': None,
    'redeploy_max_throughput_drop': None,
    'redeploy_max_ttft_rise': None,
    # The performance gate's scenario: 64 requests, 8 in flight (a short run that still batches).
    'redeploy_perf_scenarios': [{'name': 'canary-concurrency-8', 'num_prompts': 64, 'max_concurrency': 8,
                                 'request_rate': 'inf', 'input_len': 512, 'output_len': 128}],
}

_BATCH_RE = re.compile(r'^([1-9][0-9]*|([1-9][0-9]?|100)%)$')
_FRACTION_RE = re.compile(r'^[0-9]+(\.[0-9]+)?$')
_COUNT_RE = re.compile(r'^[0-9]+$')


def _given(value):
    """None for a setting not given (Ansible's undefined, passed as None, or an empty string)."""
    return None if value is None or value == '' else value


def _json(value):
    return json.dumps(value)


def _text(value):
    """A value as Jinja's string filter writes it (True, 1, 0.5, 25%)."""
    return str(value)


def limits(max_throughput_drop=None, max_ttft_rise=None):
    """The performance gate's limits that were given: the gate is on when there is one."""
    return [v for v in (_given(max_throughput_drop), _given(max_ttft_rise)) if v is not None]


def gate(max_throughput_drop=None, max_ttft_rise=None):
    return len(limits(max_throughput_drop, max_ttft_rise)) > 0


def canary(value=None, max_throughput_drop=None, max_ttft_rise=None):
    """The canary's size as given, else 1 with a performance gate, 0 without (as text, for the rules)."""
    value = _given(value)
    if value is None:
        value = 1 if gate(max_throughput_drop, max_ttft_rise) else 0
    return _text(value)


def serial_batches(serial=None):
    serial = DEFAULTS['redeploy_serial'] if _given(serial) is None else serial
    return list(serial) if isinstance(serial, (list, tuple)) else [serial]


def batches(serial=None, canary_value=None, max_throughput_drop=None, max_ttft_rise=None, unit_sizes=None):
    """The play's serial: with a canary, the canary's batch first, then redeploy_serial's batches. Counted in units:
    ``unit_sizes`` (the hosts of each unit, in play order, as server_group.units makes them) makes a server across nodes
    count once and stay whole in one batch; the serial is then the hosts of each batch, every batch listed."""
    size = canary(canary_value, max_throughput_drop, max_ttft_rise)
    plan = serial_batches(serial)
    if _COUNT_RE.match(size) and int(size) > 0:
        plan = [int(size)] + plan
    sizes = [int(n) for n in unit_sizes or []]
    if all(n == 1 for n in sizes) or any(not _BATCH_RE.match(_text(b)) for b in plan):
        return plan  # one host per unit: Ansible's own batches; a bad entry: the role's problems() name it
    out, done = [], 0
    while done < len(sizes):
        take = _units_per_batch(plan[min(len(out), len(plan) - 1)], len(sizes))
        out.append(sum(sizes[done:done + take]))
        done += take
    return out


def _units_per_batch(entry, unit_count):
    """One serial entry in units, as Ansible reads it in hosts: a count, or a percentage of them (at least 1)."""
    text = _text(entry)
    if text.endswith('%'):
        return max(1, int(int(text[:-1]) / 100.0 * unit_count))
    return int(text)


# The rollout's order and units, as the first play of redeploy.yml writes them into the inventory (add_host), for the
# second play's hosts and serial: a play's keywords see the inventory's groups, and a run's first play not the hosts'
# variables (hostvars), so the units the first play worked out (from vllm_server_nodes, a host variable) reach the
# batches this way, in that play's order.
ORDER_GROUP = 'inferops_redeploy_order'
UNIT_GROUP_PREFIX = 'inferops_redeploy_unit_'


def unit_memberships(units):
    """add_host's items for the units (lists of hosts, in rollout order): every host in ORDER_GROUP, in order, and in
    its unit's group."""
    return [{'name': host, 'groups': [ORDER_GROUP, '%s%04d' % (UNIT_GROUP_PREFIX, index)]}
            for index, unit in enumerate(units) for host in unit]


def units_from_groups(groups):
    """The units unit_memberships() wrote, in rollout order ([] before it ran)."""
    names = sorted(name for name in (groups or {}) if str(name).startswith(UNIT_GROUP_PREFIX))
    return [list(groups[name]) for name in names]


def perf_scenarios(value=None):
    return DEFAULTS['redeploy_perf_scenarios'] if value is None else value


def problems(settings, inventory_hosts, node_count):
    """Every problem of the rollout's own settings, as messages naming the variable, the value and what
    is allowed. ``settings`` holds the redeploy_* variables that were given (absent or None: not given);
    ``inventory_hosts`` is every host of the inventory; ``node_count`` the servers the rollout covers (a server across
    nodes counts once)."""
    out = []
    serial = settings.get('redeploy_serial')
    serial = DEFAULTS['redeploy_serial'] if serial is None else serial
    batch_list = serial_batches(serial)
    bad = [_text(b) for b in batch_list if not _BATCH_RE.match(_text(b))]
    if not batch_list or bad:
        out.append('redeploy_serial=%s must be a count of 1 or more, a percentage from 1%% to 100%%, or a list of them '
                   '(such as [1, "25%%", "100%%"]); not %s' % (_json(serial), ', '.join(bad)))

    fail = settings.get('redeploy_max_fail_percentage')
    fail = DEFAULTS['redeploy_max_fail_percentage'] if fail is None else fail
    if not _COUNT_RE.match(_text(fail)) or int(_text(fail)) > 100:
        out.append('redeploy_max_fail_percentage=%s must be a whole number from 0 to 100 (0: the first failure stops the rollout)'
                   % _json(fail))

    gateways = settings.get('redeploy_gateways')
    if gateways is not None:
        if isinstance(gateways, (list, tuple)):
            missing = []
            for name in gateways:
                if name not in inventory_hosts and name not in missing:
                    missing.append(name)
            if missing:
                out.append('redeploy_gateways=%s must be a list of inventory hosts; not in the inventory: %s'
                           % (_json(gateways), ', '.join(_text(m) for m in missing)))
        else:
            out.append('redeploy_gateways=%s must be a list of inventory hosts; not in the inventory: ' % _json(gateways))

    drop, rise = settings.get('redeploy_max_throughput_drop'), settings.get('redeploy_max_ttft_rise')
    given = limits(drop, rise)
    if [v for v in given if not _FRACTION_RE.match(_text(v))] or _float(drop) >= 1:
        out.append('redeploy_max_throughput_drop=%s, redeploy_max_ttft_rise=%s: each must be a fraction from 0 (0.1: 10%%), '
                   'the drop below 1' % (_json(_given(drop)), _json(_given(rise))))

    size = canary(settings.get('redeploy_canary'), drop, rise)
    if not _COUNT_RE.match(size) or int(size) > node_count or (given and int(size) < 1):
        out.append('redeploy_canary=%s must be a count of servers from 0 to %d%s'
                   % (size, node_count, ' (1 or more with a performance gate)' if given else ''))

    if given:
        scenarios = perf_scenarios(settings.get('redeploy_perf_scenarios'))
        found = bench_report.scenario_problems(scenarios)
        if found or not scenarios:
            out.append('redeploy_perf_scenarios (as vllm_bench_scenarios): %s' % ('; '.join(found) or 'it is empty'))
    return out


def _float(value):
    try:
        return float(value) if _given(value) is not None else 0.0
    except (TypeError, ValueError):
        return 0.0
