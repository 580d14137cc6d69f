# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

"""The fleet preflight report: every host's checks in one dict, and as Markdown."""


STATUS_ORDER = {'fail': 0, 'warn': 1, 'skip': 2, 'ok': 3}


def preflight_fleet_report(hosts, hostvars):
    report_hosts = {}
    problems = []
    for host in hosts:
        hv = hostvars[host]
        checks = hv.get('gpu_host_check_results')
        if checks is None:
            checks = [{'check': 'reachable', 'status': 'fail', 'found': None, 'expected': 'host checked',
                       'message': 'host was not checked (unreachable, or failed before its checks ran)'}]
        checks = list(checks)
        counts = dict((s, sum(1 for c in checks if c['status'] == s)) for s in STATUS_ORDER)
        gpus = [dict((k, g.get(k)) for k in ('index', 'name', 'memory_total_mib', 'driver_version'))
                for g in hv.get('gpu_host_check_gpus') or []]
        should_fail = hv.get('gpu_host_check_should_fail', counts['fail'] > 0)
        if not isinstance(should_fail, bool):
            should_fail = str(should_fail).strip().lower() in ('true', 'yes', '1')
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
