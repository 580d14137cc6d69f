# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action for inferops.gpu_inference.bench_report: write the fleet benchmark report on the controller."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import os

from ansible.plugins.action import ActionBase

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import bench_report
from ansible_collections.inferops.gpu_inference.plugins.plugin_utils.report_files import (
    REPORT_ARGUMENT_SPEC, publish, report_folder)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=dict(REPORT_ARGUMENT_SPEC, baseline=dict(type='path')))
        now = datetime.datetime.now(datetime.timezone.utc)
        baseline = []
        if args['baseline']:
            try:
                with open(args['baseline']) as handle:
                    baseline = json.load(handle).get('records') or []
            except (IOError, OSError, ValueError) as exc:
                result.update(failed=True, msg='cannot read the baseline %s: %s' % (args['baseline'], exc))
                return result
        folder = report_folder(args, 'bench', task_vars, now)
        if self._task.check_mode:
            # No benchmark ran (vllm_bench sets no records in check mode): there is nothing to report or judge.
            result.update(changed=False, dir=os.path.realpath(folder), files={}, misses=[], records=0, miss_table='',
                          msg='check mode: no benchmark ran on %d host(s) and no report is written; a run writes results.json, '
                              'results.csv, summary.md and report.html into %s and fails on SLO gate misses' % (
                                  len(args['hosts']), os.path.realpath(folder)))
            return result
        hostvars = task_vars.get('hostvars') or {}
        report = bench_report.build_report(args['hosts'], hostvars, now.isoformat(timespec='seconds'), baseline)
        paths = dict((name, os.path.realpath(os.path.join(folder, name)))
                     for name in ('results.json', 'results.csv', 'summary.md', 'report.html'))
        result.update(changed=True, dir=os.path.realpath(folder), files=paths, misses=report['misses'],
                      records=len(report['records']), miss_table=bench_report.miss_table(report['misses']))
        return publish(result, self._task.check_mode, args, 'bench', folder, {
            'results.json': bench_report.dumps(report), 'results.csv': bench_report.to_csv(report['records']),
            'summary.md': bench_report.to_markdown(report), 'report.html': bench_report.to_html(report)},
            'benchmark report')
