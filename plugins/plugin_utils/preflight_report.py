# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

"""The fleet preflight report: every host's checks in one dict, and as Markdown."""


from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import server_group

STATUS_ORDER = {'fail': 0, 'warn': 1, 'skip': 2, 'ok': 3}
# What must be alike on every node of a server across nodes (vllm_server_nodes): the checks' findings compared.
GROUP_ALIKE = (('gpu_count', 'GPU count'), ('gpu_model', 'GPU model'), ('driver_version', 'driver'), ('cuda_version', 'CUDA'))


def _profile(checks):
    found = dict((c['check'], c.get('found')) for c in checks if c.get('status') in ('ok', 'warn', 'fail'))
    return dict((name, found[name]) for name, _label in GROUP_ALIKE if name in found)


def group_checks(hosts, checks_of, hostvars):
    """The check 'server_group' of each node of a server across nodes, the group as a whole: its nodes' GPU count, GPU
    model, driver and CUDA alike (one server runs one build on them), and every node of it checked in this run.
    ``checks_of``: {host: its checks}. {host: check} for the nodes of groups only."""
    nodes_of = server_group.hostvars_nodes(hosts, hostvars)
    out = {}
    for unit in server_group.units(hosts, nodes_of):
        group = nodes_of[unit[0]]  # hostvars_nodes read it as a list
        if unit[0] not in group:
            continue
        profiles = dict((h, _profile(checks_of[h])) for h in unit)
        differ = [(name, label) for name, label in GROUP_ALIKE
                  if len(set(repr(p.get(name)) for p in profiles.values() if name in p)) > 1]
        absent = [n for n in group if n not in unit] + [h for h in unit if not profiles[h]]
        if differ:
            status = 'fail'
            message = 'the nodes of one server (%s) must be alike; %s' % (', '.join(group), '; '.join(
                '%s differs: %s' % (label, ', '.join('%s on %s' % (_shown(profiles[h].get(name)), h) for h in unit))
                for name, label in differ))
        elif absent:
            status = 'warn'
            message = ('%s of the server across %s not checked in this run (--limit, the play\'s hosts, or its GPU checks did '
                       'not run): its nodes are compared when all are' % (', '.join(absent), ', '.join(group)))
        else:
            status = 'ok'
            message = 'the %d nodes of one server (%s) alike: %s' % (len(group), ', '.join(group), '; '.join(
                '%s %s' % (label, _shown(profiles[unit[0]].get(name))) for name, label in GROUP_ALIKE if name in profiles[unit[0]]))
        for host in unit:
            out[host] = {'check': 'server_group', 'status': status, 'message': message, 'found': profiles[host],
                         'expected': 'alike on %s' % ', '.join(group)}
    return out


def _shown(value):
    return ', '.join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)


def preflight_fleet_report(hosts, hostvars):
    report_hosts = {}
    problems = []
    checks_of = {}
    for host in hosts:
        checks = hostvars[host].get('gpu_host_check_results')
        if checks is None:
            checks = [{'check': 'reachable', 'status': 'fail', 'found': None, 'expected': 'host checked',
                       'message': 'host was not checked (unreachable, or failed before its checks ran)'}]
        checks_of[host] = list(checks)
    groups = group_checks(list(hosts), checks_of, hostvars)
    for host in hosts:
        hv = hostvars[host]
        checks = checks_of[host] + ([groups[host]] if host in groups else [])
        counts = dict((s, sum(1 for c in checks if c['status'] == s)) for s in STATUS_ORDER)
        gpus = [dict((k, g.get(k)) for k in ('index', 'name', 'memory_total_mib', 'driver_version'))
                for g in hv.get('gpu_host_check_gpus') or []]
        should_fail = hv.get('gpu_host_check_should_fail', counts['fail'] > 0)
        if not isinstance(should_fail, bool):
            should_fail = str(should_fail).strip().lower() in ('true', 'yes', '1')
        should_fail = should_fail or groups.get(host, {}).get('status') == 'fail'
        report_hosts[host] = {'summary': counts, 'checks': checks, 'gpus': gpus, 'should_fail': should_fail}
        problems.extend(dict(c, host=host) for c in checks if c['status'] in ('fail', 'warn'))
    problems.sort(key=lambda c: (STATUS_ORDER[c['status']], c['host'], c['check']))
    failing = sorted(h for h, r in report_hosts.items() if r['summary']['fail'])
    warning = sorted(h for h, r in report_hosts.items() if r['summary']['warn'] and not r['summary']['fail'])
    return {
        'summary': {'hosts': len(report_hosts), 'hosts_failing': failing, 'hosts_warning': warning,
                    'checks_failed': sum(r['summary']['fail'] for r in report_hosts.values()),
                    'checks_warned': sum(r['summary']['warn'] for r in report_hosts.values())},
        'hosts': report_hosts,
        'problems': problems,
    }


def _cell(text):
    return str(text).replace('|', '\\|').replace('\n', ' ')


def preflight_markdown(report):
    hosts = report['hosts']
    order = sorted(hosts, key=lambda h: (-hosts[h]['summary']['fail'], -hosts[h]['summary']['warn'], h))
    names = []
    for host in order:
        for item in hosts[host]['checks']:
            if item['check'] not in names:
                names.append(item['check'])
    # Checks that failed somewhere come first, in the order they were made.
    failing = [n for n in names if any(c['check'] == n and c['status'] == 'fail' for h in order for c in hosts[h]['checks'])]
    names = failing + [n for n in names if n not in failing]
    summary = report['summary']
    lines = [
        '# GPU preflight report',
        '',
        '%d host(s); failing: %s; warning: %s.' % (
            summary['hosts'], ', '.join(summary['hosts_failing']) or 'none', ', '.join(summary['hosts_warning']) or 'none'),
        '',
        '## Problems',
        '',
    ]
    if report['problems']:
        lines += ['| host | check | status | message |', '| --- | --- | --- | --- |']
        lines += ['| %s | %s | %s | %s |' % (p['host'], p['check'], p['status'].upper(), _cell(p['message']))
                  for p in report['problems']]
    else:
        lines.append('None: every check passed on every host.')
    lines += ['', '## Host x check', '', '| host | ' + ' | '.join(names) + ' |',
              '| --- |' + ' --- |' * len(names)]
    for host in order:
        by_name = dict((c['check'], c['status']) for c in hosts[host]['checks'])
        lines.append('| %s | %s |' % (host, ' | '.join(
            by_name.get(n, '-').upper() if by_name.get(n) in ('fail', 'warn') else by_name.get(n, '-') for n in names)))
    return '\n'.join(lines) + '\n'
