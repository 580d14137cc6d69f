# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action for inferops.gpu_inference.capacity_report: write the fleet's capacity report on the controller."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import os

from ansible.plugins.action import ActionBase

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import capacity
from ansible_collections.inferops.gpu_inference.plugins.plugin_utils.report_files import (
    REPORT_ARGUMENT_SPEC, publish, report_folder)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=REPORT_ARGUMENT_SPEC)
        now = datetime.datetime.now(datetime.timezone.utc)
        report = capacity.build_report(args['hosts'], task_vars.get('hostvars') or {}, now.isoformat(timespec='seconds'))
        folder = report_folder(args, 'capacity', task_vars, now)
        paths = dict((name, os.path.realpath(os.path.join(folder, name))) for name in ('results.json', 'summary.md', 'report.html'))
        result.update(changed=True, dir=os.path.realpath(folder), files=paths, nodes=report['nodes'], types=report['types'],
                      table=capacity.type_table(report))
        return publish(result, self._task.check_mode, args, 'capacity', folder, {
            'results.json': json.dumps(report, indent=2, sort_keys=True, default=str) + '\n',
            'summary.md': capacity.to_markdown(report), 'report.html': capacity.to_html(report)}, 'capacity report')
