# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Timestamped report folders on the controller: <root>/<kind>-<stamp>/ and <root>/<kind>-latest.

Shared by the preflight_report and bench_report actions: each file is written whole (a
temporary file renamed over it) and the -latest link is replaced atomically.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os


def utc_stamp(now=None):
    return (now or datetime.datetime.now(datetime.timezone.utc)).strftime('%Y%m%dT%H%M%SZ')


def report_folder(root, kind, stamp):
    return os.path.join(root, '%s-%s' % (kind, stamp))


def _replace(path, text):
    with open(path + '.tmp', 'w') as handle:
        handle.write(text)
    os.chmod(path + '.tmp', 0o644)
    os.replace(path + '.tmp', path)


def write_report(root, kind, folder, files, latest_link=True):
    """Write files ({name: text}) into folder, then point <root>/<kind>-latest at it."""
    os.makedirs(folder, exist_ok=True)
    for name, text in files.items():
        _replace(os.path.join(folder, name), text)
    if latest_link:
        link = os.path.join(root, kind + '-latest')
        if os.path.lexists(link + '.tmp'):
            os.unlink(link + '.tmp')
        os.symlink(os.path.basename(folder), link + '.tmp')
        os.replace(link + '.tmp', link)
