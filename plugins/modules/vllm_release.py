#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vllm_release
short_description: Lay out a vLLM server's release folder (configuration, secret files) and prune unused releases
version_added: 0.1.0
description:
  - Each set of settings of a server that M(inferops.gpu_inference.vllm_server) deploys gets its own release
    folder C(<releases_dir>/<release>) holding a C(config) folder (mode 0755, files 0644) and a C(secrets)
    folder (mode 0700, files 0400, root-only), so that a previous server restored by a rollback still reads
    its own files.
  - In one module run it makes the folders (and the O(dirs) the server also needs), writes the files whose
    content or mode differ, removes the files in C(config) and C(secrets) it was not given, and removes the
    release folders other than O(release) and those in O(keep).
  - Secret contents are never returned or logged.
author:
  - inferops engineers (@inferops)
attributes:
  check_mode:
    support: full
    description: Reports what it would change and changes nothing.
  diff_mode:
    support: none
    description: Secret files are not diffed; the result lists the paths that changed.
options:
  releases_dir:
    description: The folder holding the server's release folders (made with mode 0700).
    type: path
    required: true
  release:
    description: The release folder's name, such as the first 12 characters of the settings fingerprint.
    type: str
    required: true
  config:
    description: File name to content, written to C(<release>/config) with mode 0644.
    type: dict
    default: {}
  secrets:
    description: File name to content, written to C(<release>/secrets) with mode 0400. Never logged.
    type: dict
    default: {}
  keep:
    description:
      - Other release folders to keep (the running server's, which a rollback restores). Empty names are ignored.
      - Every other folder in O(releases_dir) is removed.
    type: list
    elements: str
    default: []
  dirs:
    description: Other folders to make (mode 0755) if they are missing, such as the log folder and the model cache.
    type: list
    elements: path
    default: []
"""

EXAMPLES = r"""
- name: Lay out the release of the new settings, keeping the running server's
  inferops.gpu_inference.vllm_release:
    releases_dir: /srv/vllm/server/releases
    release: "{{ fingerprint[:12] }}"
    config:
      logging.json: "{{ lookup('ansible.builtin.template', 'logging.json.j2') }}"
    secrets:
      hf_token: "{{ hf_token }}"
    keep: ["{{ running_fingerprint[:12] }}"]
    dirs: [/srv/vllm/server/logs, /srv/hf-cache]
"""

RETURN = r"""
release_dir:
  description: The release folder.
  returned: always
  type: str
  sample: /srv/vllm/server/releases/3f2a9c0d1b7e
changed_paths:
  description: Folders and files made, written or removed (paths only, never contents).
  returned: always
  type: list
  elements: str
pruned:
  description: Release folders removed.
  returned: always
  type: list
  elements: str
"""

import os
import re
import shutil
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule

NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]*$')


def ensure_dir(path, mode, check, changed):
    if os.path.isdir(path):
        if stat.S_IMODE(os.stat(path).st_mode) != mode:
            changed.append(path)
            if not check:
                os.chmod(path, mode)
        return
    changed.append(path)
    if not check:
        os.makedirs(path, mode)
        os.chmod(path, mode)


def ensure_file(path, content, mode, check, changed):
    data = content.encode('utf-8')
    try:
        with open(path, 'rb') as handle:
            same = handle.read() == data and stat.S_IMODE(os.stat(path).st_mode) == mode
    except (IOError, OSError):
        same = False
    if same:
        return
    changed.append(path)
    if check:
        return
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix='.vllm_release.')
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, 'wb') as handle:
            handle.write(data)
        os.rename(tmp, path)
    except Exception:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def ensure_only(folder, names, check, changed):
    """Remove what a release folder holds beyond the files it was given."""
    if not os.path.isdir(folder):
        return
    for name in sorted(os.listdir(folder)):
        if name in names:
            continue
        path = os.path.join(folder, name)
        changed.append(path)
        if not check:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)


def lay_out(releases_dir, release, config, secrets, keep, dirs, check):
    """Make the release folder and its files; remove other releases. Returns (changed_paths, pruned)."""
    changed, pruned = [], []
    ensure_dir(releases_dir, 0o700, check, changed)
    release_dir = os.path.join(releases_dir, release)
    ensure_dir(release_dir, 0o755, check, changed)
    for sub, files, dir_mode, file_mode in (('config', config, 0o755, 0o644), ('secrets', secrets, 0o700, 0o400)):
        folder = os.path.join(release_dir, sub)
        ensure_dir(folder, dir_mode, check, changed)
        ensure_only(folder, files, check, changed)
        for name in sorted(files):
            ensure_file(os.path.join(folder, name), files[name], file_mode, check, changed)
    for path in dirs:
        if not os.path.isdir(path):
            ensure_dir(path, 0o755, check, changed)
    if os.path.isdir(releases_dir):
        kept = set([release] + [k for k in keep if k])
        for name in sorted(os.listdir(releases_dir)):
            path = os.path.join(releases_dir, name)
            if name in kept or not os.path.isdir(path) or os.path.islink(path):
                continue
            pruned.append(path)
            if not check:
                shutil.rmtree(path)
    return changed, pruned


def main():
    module = AnsibleModule(
        argument_spec=dict(
            releases_dir=dict(type='path', required=True),
            release=dict(type='str', required=True),
            config=dict(type='dict', default={}),
            secrets=dict(type='dict', default={}, no_log=True),
            keep=dict(type='list', elements='str', default=[]),
            dirs=dict(type='list', elements='path', default=[]),
        ),
        supports_check_mode=True,
    )
    p = module.params
    bad = [n for n in [p['release']] + list(p['config']) + list(p['secrets']) if not NAME.match(n)]
    if bad:
        module.fail_json(msg='vllm_release: names must be plain file names (letters, digits, . _ -), got: %s' % ', '.join(bad))
    files = {}
    for option in ('config', 'secrets'):
        files[option] = dict((k, '' if v is None else str(v)) for k, v in p[option].items())
    try:
        changed, pruned = lay_out(p['releases_dir'], p['release'], files['config'], files['secrets'],
                                  p['keep'], p['dirs'], module.check_mode)
    except (IOError, OSError) as exc:
        module.fail_json(msg='vllm_release: %s' % exc)
    module.exit_json(changed=bool(changed or pruned), release_dir=os.path.join(p['releases_dir'], p['release']),
                     changed_paths=changed, pruned=pruned)


if __name__ == '__main__':
    main()
