# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a model is on a node before its server is replaced: a folder's files and sizes (a staged copy is
compared with the controller's folder, a model path is looked for); a Hugging Face id in the node's hub cache is
module_utils.hf_hub's. Read on the node by vllm_probe and, for the controller's folder, by the action vllm_server_plan."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

# A model folder holds tens of files; a folder with more is listed up to here (and said to be cut).
MAX_FILES = 10000


def listing(path, limit=None):
    """{relative path: (size, modification time in ns)} of the files under path, in a sorted walk, or None when it is
    not a folder. Symbolic links to files count as their target (the hub cache links snapshots to blobs); a broken one
    is a file that is not there. With limit, the listing stops there and says so ('...': (-1, 0)).
    One walk for both readers of the controller's staged folder: its fingerprint row and what a node's copy lacks."""
    if not path or not os.path.isdir(path):
        return None
    found = {}
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(root, name)
            try:
                st = os.stat(full)
            except OSError:
                continue
            found[os.path.relpath(full, path)] = (st.st_size, st.st_mtime_ns)
            if limit and len(found) >= limit:
                found['...'] = (-1, 0)
                return found
    return found


def sizes(path):
    """{relative path: size} of the files under path (at most MAX_FILES), or None when it is not a folder."""
    return sizes_of(listing(path, MAX_FILES))


def sizes_of(files):
    """The sizes of a listing (None stays None)."""
    return None if files is None else dict((name, size) for name, (size, dummy) in files.items())


def manifest_signature(path):
    """The signature a staging run recorded beside a staged copy (a small JSON file: {"signature": ...}), or ''."""
    try:
        with open(path) as handle:
            found = json.loads(handle.read(65536))
    except (OSError, ValueError):
        return ''
    signature = found.get('signature') if isinstance(found, dict) else ''
    return signature if isinstance(signature, str) else ''


def differences(wanted, have):
    """What a node's copy lacks against the controller's folder: names missing, or of another size."""
    have = have or {}
    return sorted(name for name, size in wanted.items() if have.get(name) != size)
