# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The fleet's health now: per node, is it serving, is its GPU healthy, and if not, why."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

FACT = 'inferops_health'


def node_health(serving, gpu, heal=None):
    """One node's verdict from what vllm_health and gpu_health returned (either may be missing), and, when
    health.yml healed it (health_heal), how that went: serving is then what the node said after."""
    causes = []
    if heal and heal.get('outcome') == 'failed':
        causes.append('heal failed: %s' % heal.get('message'))
    if serving is None:
        causes.append('server: not looked at (the host was unreachable or failed before)')
    elif not serving.get('serving'):
        causes.append('server %s: %s' % (serving.get('state'), serving.get('reason')))
    gpu_faults = []
    if gpu is not None:
        for check in gpu.get('checks') or []:
            if check.get('status') in ('fail', 'warn'):
                gpu_faults.append({'check': check.get('name'), 'status': check['status'], 'message': check.get('message')})
        causes.extend('GPU %s: %s' % (f['check'], f['message']) for f in gpu_faults if f['status'] == 'fail')
    sick = bool(causes)
    return {
        'healthy': not sick,
        'serving': None if serving is None else dict((k, serving.get(k)) for k in (
            'state', 'serving', 'reason', 'running', 'waiting', 'tokens', 'probe_seconds') if k in serving),
        'gpu_faults': gpu_faults,
        'causes': causes,
        'heal': heal,
    }


def health_fleet_report(hosts, hostvars):
    nodes = {}
    for host in hosts:
        fact = hostvars[host].get(FACT) or {}
        nodes[host] = node_health(fact.get('serving'), fact.get('gpu'), fact.get('heal'))
    sick = sorted(h for h, n in nodes.items() if not n['healthy'])
    warned = sorted(h for h, n in nodes.items() if n['healthy'] and n['gpu_faults'])
    return {'summary': {'hosts': len(nodes), 'sick': sick, 'warned': warned,
                        'healthy': sorted(h for h in nodes if h not in sick)},
            'hosts': nodes}


def _cell(text):
    return str(text).replace('|', '\\|').replace('\n', ' ')


def health_markdown(report):
    summary = report['summary']
    lines = ['# Fleet health', '',
             '%d node(s): %d sick (%s), %d healthy.' % (
                 summary['hosts'], len(summary['sick']), ', '.join(summary['sick']) or 'none', len(summary['healthy'])),
             '', '| Node | Verdict | Server | GPU | Why |', '|---|---|---|---|---|']
    order = sorted(report['hosts'], key=lambda h: (report['hosts'][h]['healthy'], h))
    for host in order:
        node = report['hosts'][host]
        serving = node['serving'] or {}
        gpu = ', '.join('%s %s' % (f['check'], f['status']) for f in node['gpu_faults']) or 'ok'
        why = '; '.join(node['causes']) or serving.get('reason') or ''
        if node.get('heal') and node['heal'].get('outcome') != 'failed':
            why = 'healed (server %s); %s' % (node['heal'].get('outcome'), why)
        lines.append('| %s | %s | %s | %s | %s |' % (
            _cell(host), 'SICK' if not node['healthy'] else 'healthy', _cell(serving.get('state', 'unknown')), _cell(gpu), _cell(why)))
    warnings = [(h, f) for h in order for f in report['hosts'][h]['gpu_faults'] if f['status'] == 'warn']
    if warnings:
        lines += ['', '## GPU warnings', ''] + ['- %s: %s' % (h, _cell(f['message'])) for h, f in warnings]
    return '\n'.join(lines) + '\n'
