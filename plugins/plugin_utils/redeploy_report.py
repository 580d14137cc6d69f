# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The rolling redeploy's summary: which node runs which version, and what happened to each.

Built on the controller from two facts per node that playbooks/redeploy.yml sets:
``redeploy_before`` (what ran before the rollout, from vllm_server's probe) and
``redeploy_node`` (the node's outcome: replaced, unchanged, rolled_back, down, failed,
unreachable, with the version it runs now). A node without an outcome was not reached.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from html import escape

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import svg_chart
from ansible_collections.inferops.gpu_inference.plugins.plugin_utils.bench_report import html_page

# Outcomes after which the node serves the new version; the others stop the rollout.
ON_TARGET = ('replaced', 'unchanged')
OUTCOMES = ON_TARGET + ('rolled_back', 'down', 'failed', 'unreachable', 'not reached')


def version_text(version):
    """'image model @fingerprint' from a dict with any of image, model, fingerprint."""
    version = version or {}
    parts = [version.get('image') or '', version.get('model') or '']
    if version.get('fingerprint'):
        parts.append('@' + version['fingerprint'][:12])
    return ' '.join(p for p in parts if p) or 'nothing'


def node_row(host, hostvars):
    facts = hostvars.get(host) or {}
    before = facts.get('redeploy_before') or {}
    node = facts.get('redeploy_node') or {}
    outcome = node.get('outcome') or 'not reached'
    # Where the node's own record says nothing of what runs now, what ran before still does.
    now = node.get('runs') if node.get('runs') is not None else before
    return {
        'host': host,
        'outcome': outcome,
        'runs': version_text(now),
        'runs_version': now,
        'before': version_text(before),
        'target': version_text(node.get('target') or facts.get('redeploy_target')),
        'on_target': outcome in ON_TARGET,
        'restarts': int(node.get('restarts') or 0),
        'elapsed_s': node.get('elapsed_s'),
        'cause': node.get('cause') or '',
        'perf': node.get('perf') or {},
    }


def rollout_report(hosts, hostvars):
    rows = [node_row(h, hostvars) for h in hosts]
    counts = dict((o, sum(1 for r in rows if r['outcome'] == o)) for o in OUTCOMES)
    stopped = [r['host'] for r in rows if r['outcome'] not in ON_TARGET + ('not reached',)]
    return {
        'nodes': rows,
        'summary': {
            'nodes': len(rows),
            'on_target': sum(1 for r in rows if r['on_target']),
            'counts': dict((k, v) for k, v in counts.items() if v),
            'stopped_at': stopped,
            'complete': all(r['on_target'] for r in rows),
        },
    }


def _cell(text):
    return str(text).replace('|', '\\|').replace('\n', ' ')


def rollout_table(report):
    """Plain-text lines for the play output (one per node)."""
    width = max([len(r['host']) for r in report['nodes']] + [4])
    lines = ['%-*s  %-12s  %s' % (width, 'node', 'outcome', 'runs now')]
    for r in report['nodes']:
        line = '%-*s  %-12s  %s' % (width, r['host'], r['outcome'], r['runs'])
        if r['restarts']:
            line += '  (%d restart(s) since deployed)' % r['restarts']
        if r['cause']:
            line += '  - ' + r['cause'][:160]
        lines.append(line)
    for r in report['nodes']:
        if r['perf'].get('rows'):
            lines.append('performance gate of canary %s against %s:' % (r['host'], r['perf'].get('against')))
            lines += ['  %-24s %-16s old %10s  new %10s  bound %10s  %s' % (
                p['scenario'], p['metric'], p['old'], p['new'], p['bound'], 'ok' if p['ok'] else 'MISS') for p in r['perf']['rows']]
    s = report['summary']
    lines.append('%d of %d node(s) on the new version%s' % (
        s['on_target'], s['nodes'], '' if s['complete'] else '; rollout stopped at ' + (', '.join(s['stopped_at']) or '?')))
    return lines


def rollout_markdown(report):
    out = ['# Rolling redeploy', '',
           '%d of %d node(s) on the new version.%s' % (
               report['summary']['on_target'], report['summary']['nodes'],
               '' if report['summary']['complete'] else ' Stopped at: %s.' % (', '.join(report['summary']['stopped_at']) or '-')),
           '', '| node | outcome | runs now | before | target | restarts | seconds | cause |',
           '|---|---|---|---|---|---|---|---|']
    for r in report['nodes']:
        out.append('| %s |' % ' | '.join(_cell(x) for x in (
            r['host'], r['outcome'], r['runs'], r['before'], r['target'], r['restarts'],
            '' if r['elapsed_s'] is None else r['elapsed_s'], r['cause'])))
    for r in report['nodes']:
        if r['perf'].get('rows'):
            out += ['', '## Performance gate: canary %s against %s' % (r['host'], r['perf'].get('against')), '',
                    '| scenario | metric | old | new | bound | change % | verdict |', '|---|---|---:|---:|---:|---:|---|']
            out += ['| %s |' % ' | '.join(_cell(x) for x in (
                p['scenario'], p['metric'], p['old'], p['new'], p['bound'], p.get('change_pct'), 'ok' if p['ok'] else 'MISS: ' + p['why']))
                for p in r['perf']['rows']]
    return '\n'.join(out) + '\n'


def rollout_html(report):
    """The summary as a page: the node table and, for a canary, old against new per scenario and metric."""
    s = report['summary']
    head = ('node', 'outcome', 'runs now', 'before', 'target', 'restarts', 'seconds', 'cause')
    body = ['<p id="summary">%d of %d node(s) on the new version.%s</p>' % (
        s['on_target'], s['nodes'], '' if s['complete'] else ' Stopped at: %s.' % escape(', '.join(s['stopped_at']) or '-')),
        '<table id="nodes"><thead><tr>%s</tr></thead><tbody>' % ''.join('<th>%s</th>' % h for h in head)]
    body += ['<tr>%s</tr>' % ''.join('<td>%s</td>' % escape(str(v)) for v in (
        r['host'], r['outcome'], r['runs'], r['before'], r['target'], r['restarts'], '' if r['elapsed_s'] is None else r['elapsed_s'],
        r['cause'])) for r in report['nodes']]
    body.append('</tbody></table>')
    for r in report['nodes']:
        rows = r['perf'].get('rows') or []
        if not rows:
            continue
        body.append('<h2>Performance gate: canary %s against %s</h2>' % (escape(r['host']), escape(str(r['perf'].get('against')))))
        for metric in sorted(set(p['metric'] for p in rows if p['metric'] not in ('ran', 'failed requests'))):
            mine = [p for p in rows if p['metric'] == metric]
            body.append(svg_chart.bar_chart('chart-canary-%s' % metric.split()[0].lower().replace('/', ''), '%s, old against new' % metric,
                                            metric, [p['scenario'] for p in mine],
                                            [('old version', [p['old'] for p in mine]), ('canary (new)', [p['new'] for p in mine]),
                                             ('bound', [p['bound'] for p in mine])], width=560))
        body.append('<table class="canary"><thead><tr><th>scenario</th><th>metric</th><th>old</th><th>new</th><th>bound</th>'
                    '<th>change %</th><th>verdict</th></tr></thead><tbody>')
        body += ['<tr>%s<td class="%s">%s</td></tr>' % (''.join('<td>%s</td>' % escape(str(v)) for v in (
            p['scenario'], p['metric'], p['old'], p['new'], p['bound'], p.get('change_pct'))), 'pass' if p['ok'] else 'fail',
            'ok' if p['ok'] else escape('MISS: ' + p['why'])) for p in rows]
        body.append('</tbody></table>')
    return html_page('Rolling redeploy', body)
