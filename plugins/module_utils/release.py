# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A vLLM server's release folder on the node: <releases_dir>/<release>/config (0755, files 0644) and
secrets (0700, files 0400), one per set of settings, so that a server restored by a rollback still reads
its own files; other releases pruned. Used by vllm_container and vllm_process before they start a server.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import shutil
import stat
import tempfile

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


def nearest_existing(path):
    """path, or its nearest parent that exists (what a folder not made yet would be made in)."""
    at = os.path.normpath(path)
    while not os.path.exists(at) and os.path.dirname(at) != at:
        at = os.path.dirname(at)
    return at


def unwritable(paths):
    """Of these folders, those the user this runs as could not make or write: {path: the folder that refuses it
    (the path itself, or its nearest existing parent)}. Read before a deploy changes anything (vllm_probe), so that
    a user without root (rootless podman) learns which setting names a folder of root's."""
    out = {}
    for path in paths:
        at = nearest_existing(path)
        if not (os.path.isdir(at) and os.access(at, os.W_OK | os.X_OK)):
            out[path] = at
    return out


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
    write_atomically(path, data, mode)


def write_atomically(path, data, mode):
    """Write bytes to a file through a temporary file in its folder, renamed over it (readers never see half a file)."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix='.inferops.')
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
        if not os.path.exists(path):  # a path that is there (a file to mount, say) is left as it is
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


def bad_names(release, config, secrets):
    """The names that are not plain file names (the release's and the files')."""
    return [n for n in [release] + list(config) + list(secrets) if not NAME.match(n)]


def as_text(files):
    """File name to content, with None as an empty file."""
    return dict((k, '' if v is None else str(v)) for k, v in (files or {}).items())


def release_spec():
    """The module options of a release (the release suboptions of vllm_container and vllm_process)."""
    return dict(
        releases_dir=dict(type='path', required=True),
        release=dict(type='str', required=True),
        config=dict(type='dict', default={}),
        secrets=dict(type='dict', default={}, no_log=True),
        keep=dict(type='list', elements='str', default=[]),
        dirs=dict(type='list', elements='path', default=[]),
    )


def apply(p, check):
    """Lay out the release the options ``p`` describe. Returns the result fields (release_dir, changed_paths,
    pruned, changed). Raises ValueError for bad names, IOError/OSError from the file system."""
    bad = bad_names(p['release'], p['config'], p['secrets'])
    if bad:
        raise ValueError('names must be plain file names (letters, digits, . _ -), got: %s' % ', '.join(bad))
    changed, pruned = lay_out(p['releases_dir'], p['release'], as_text(p['config']), as_text(p['secrets']),
                              p['keep'], p['dirs'], check)
    return dict(changed=bool(changed or pruned), release_dir=os.path.join(p['releases_dir'], p['release']),
                changed_paths=changed, pruned=pruned)
