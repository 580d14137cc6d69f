# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action for inferops.gpu_inference.preflight_report: write the fleet preflight report.

Runs on the controller only: builds the report from every host's gpu_host_check_* facts and
writes report.json, report.md and the preflight-latest link in one task.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible.plugins.action import ActionBase

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils.preflight_report import (
    preflight_fleet_report, preflight_markdown)
from ansible_collections.inferops.gpu_inference.plugins.plugin_utils.report_files import report_folder, utc_stamp, write_report


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(('hosts', 'root', 'stamp', 'latest_link'))
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=dict(
            hosts=dict(type='list', elements='str', required=True),
            root=dict(type='path', required=True),
            stamp=dict(type='str'),
            latest_link=dict(type='bool', default=True),
        ))
        hostvars = task_vars.get('hostvars') or {}
        report = preflight_fleet_report([h for h in args['hosts'] if h in hostvars], hostvars)
        folder = report_folder(args['root'], 'preflight', args['stamp'] or utc_stamp())
        result.update(
            changed=True, report=report, dir=os.path.realpath(folder),
            json_path=os.path.realpath(os.path.join(folder, 'report.json')),
            markdown_path=os.path.realpath(os.path.join(folder, 'report.md')),
            hosts_should_fail=sorted(h for h, r in report['hosts'].items() if r['should_fail']),
        )
        if self._task.check_mode:
            result['msg'] = 'check mode: would write %s' % folder
            return result
        try:
            write_report(args['root'], 'preflight', folder, {
                'report.json': json.dumps(report, indent=4, sort_keys=True, default=str) + '\n',
                'report.md': preflight_markdown(report)}, args['latest_link'])
        except OSError as exc:
            result.update(failed=True, msg='cannot write the preflight report under %s: %s' % (args['root'], exc))
        return result
