# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # The report writers (bench_report, capacity_report, preflight_report, redeploy_report): action
    # plugins that write <root>/<kind>-<stamp>/ on the controller and point <root>/<kind>-latest at it.
    DOCUMENTATION = r"""
attributes:
  action:
    support: full
    description: Runs as an action plugin on the controller.
  check_mode:
    support: full
    description: Builds and returns the report, writes no file.
  diff_mode:
    support: none
    description: No diff.
options:
  root:
    description:
      - The folder that holds the timestamped report folders.
      - By default the environment variable C(INFEROPS_REPORT_DIR), else C(reports/) in the current folder (where
        C(ansible-playbook) runs; never inside an installed collection).
    type: path
  stamp:
    description: The report folder's suffix; the current UTC time (such as C(20261122T064500Z)) by default.
    type: str
  latest_link:
    description: Point C(<root>/<kind>-latest) (such as C(bench-latest)) at the new folder.
    type: bool
    default: true
"""
