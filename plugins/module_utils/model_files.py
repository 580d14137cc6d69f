# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a model is on a node before its server is replaced: a folder's files and sizes (a staged copy is
compared with the controller's folder, a model path is looked for), or a Hugging Face id in the node's hub cache.
Read on the node by vllm_probe and, for the controller's folder, by the action vllm_server_plan."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

# A model folder holds tens of files; a folder with more is listed up to here (and said to be cut).
MAX_FILES = 10000


def sizes(path):
    """{relative path: size} of the files under path, or None when it is not a folder. Symbolic links to files
    count with their target's size (the hub cache links snapshots to blobs)."""
    if not path or not os.path.isdir(path):
        return None
    found = {}
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(root, name)
            try:
                found[os.path.relpath(full, path)] = os.stat(full).st_size
            except OSError:  # a broken link: a file that is not there
                continue
            if len(found) >= MAX_FILES:
                found['...'] = -1
                return found
    return found


def hub_snapshot(hf_home, model_id):
    """The newest snapshot folder of model_id (org/name) in the Hugging Face cache under hf_home, or ''."""
    snapshots = os.path.join(hf_home, 'hub', 'models--' + model_id.replace('/', '--'), 'snapshots')
    if not os.path.isdir(snapshots):
        return ''
    found = [os.path.join(snapshots, n) for n in os.listdir(snapshots) if os.path.isdir(os.path.join(snapshots, n))]
    found = [f for f in found if any(name.endswith(('.safetensors', '.bin', '.gguf', '.pt')) for name in os.listdir(f))]
    return max(found, key=os.path.getmtime) if found else ''


def differences(wanted, have):
    """What a node's copy lacks against the controller's folder: names missing, or of another size."""
    have = have or {}
    return sorted(name for name, size in wanted.items() if have.get(name) != size)
