# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Timestamped report folders on the controller: <root>/<kind>-<stamp>/ and <root>/<kind>-latest.

Shared by the preflight_report, bench_report and redeploy_report actions: the options they
all take, and the writing: each file is written whole (a temporary file renamed over it) and
the -latest link is replaced atomically; nothing is written in check mode.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import os


def utc_stamp(now=None):
    return (now or datetime.datetime.now(datetime.timezone.utc)).strftime('%Y%m%dT%H%M%SZ')


# Where reports go when a task names no root: $INFEROPS_REPORT_DIR, else reports/ in the current folder (where
# ansible-playbook runs: the checkout's top for its README's commands; never inside an installed collection).
REPORT_DIR_ENV = 'INFEROPS_REPORT_DIR'


def default_root(task_vars=None, environ=None):
    environ = os.environ if environ is None else environ
    if environ.get(REPORT_DIR_ENV):
        return environ[REPORT_DIR_ENV]
    return os.path.join(os.getcwd(), 'reports')


def root_problems(root, environ=None):
    """Why reports cannot be written under root (the folder, or the nearest folder above it that exists, must be a
    writable folder), naming where root came from; [] when they can. Read-only: nothing is made."""
    environ = os.environ if environ is None else environ
    label = '%s=%s' % (REPORT_DIR_ENV, json.dumps(root)) if environ.get(REPORT_DIR_ENV) == root else 'the report folder %s' % json.dumps(root)
    path = os.path.abspath(root)
    while not os.path.lexists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    if not os.path.isdir(path):
        return ['%s: %s is not a folder: reports cannot be written there (set %s to a folder)' % (label, json.dumps(path), REPORT_DIR_ENV)]
    if not os.access(path, os.W_OK | os.X_OK):
        return ['%s: %s is not writable by this user: reports cannot be written there (set %s to a folder you can write)' % (
            label, json.dumps(path), REPORT_DIR_ENV)]
    return []


def results_file_problems(variable, path):
    """Why path (a results.json of playbooks/bench.yml, named by variable) cannot serve as a baseline; [] when it can."""
    if not path:
        return []
    where = '%s=%s' % (variable, json.dumps(path))
    path = os.path.expandvars(os.path.expanduser(path))
    if not os.path.isfile(path):
        return ['%s is not a file on the controller' % where]
    try:
        with open(path) as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        return ['%s cannot be read as JSON (%s): give a results.json written by playbooks/bench.yml' % (where, str(exc)[:120])]
    if not isinstance(data, dict) or not isinstance(data.get('records'), list):
        return ['%s holds no "records" list: give a results.json written by playbooks/bench.yml' % where]
    return []


def report_folder(args, kind, task_vars, now=None):
    """The new report's folder, <root>/<kind>-<stamp>; fills in args' root and stamp where not given."""
    args['root'] = args.get('root') or default_root(task_vars)
    args['stamp'] = args.get('stamp') or utc_stamp(now)
    return os.path.join(args['root'], '%s-%s' % (kind, args['stamp']))


def _replace(path, text):
    with open(path + '.tmp', 'w', encoding='utf-8', newline='') as handle:
        handle.write(text)
    os.chmod(path + '.tmp', 0o644)
    os.replace(path + '.tmp', path)


def write_files(folder, files):
    """Write files ({name: text}) into folder (made where missing), each replaced whole; the names whose text changed."""
    os.makedirs(folder, exist_ok=True)
    changed = []
    for name, text in files.items():
        path = os.path.join(folder, name)
        try:
            with open(path, encoding='utf-8', newline='') as handle:
                same = handle.read() == text
        except (OSError, UnicodeDecodeError):
            same = False
        if not same:
            _replace(path, text)
            changed.append(name)
    return changed


def write_report(root, kind, folder, files, latest_link=True):
    """Write files ({name: text}) into folder, then point <root>/<kind>-latest at it."""
    write_files(folder, files)
    if latest_link:
        link = os.path.join(root, kind + '-latest')
        if os.path.lexists(link + '.tmp'):
            os.unlink(link + '.tmp')
        os.symlink(os.path.basename(folder), link + '.tmp')
        os.replace(link + '.tmp', link)


# The options every report action takes (bench_report adds its baseline).
REPORT_ARGUMENT_SPEC = dict(
    hosts=dict(type='list', elements='str', required=True),
    root=dict(type='path'),
    stamp=dict(type='str'),
    latest_link=dict(type='bool', default=True),
)


def publish(result, check_mode, args, kind, folder, files, what, check_msg=False):
    """Write the report files into folder unless in check mode; a write error fails result, naming what."""
    if check_mode:
        if check_msg:
            result['msg'] = 'check mode: would write %s' % folder
        return result
    try:
        write_report(args['root'], kind, folder, files, args['latest_link'])
    except OSError as exc:
        # Nothing was written (or only part): a failed write does not say changed.
        result.update(failed=True, changed=False, msg='cannot write the %s under %s: %s' % (what, args['root'], exc))
    return result
