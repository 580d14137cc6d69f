# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The O(release) option of vllm_container and vllm_process (module_utils/release.py lays it out)."""

    DOCUMENTATION = r"""
options:
  release:
    description:
      - The server's release folder, laid out on the node before the server is touched (stopped or started) -
        C(<releases_dir>/<release>/config) and C(secrets), one folder per set of settings, so that a server put back
        by a rollback still reads its own files; the other release folders are removed. Omitted, none is.
    type: dict
    suboptions:
      releases_dir:
        description: The folder holding the server's release folders (made with mode 0700).
        type: path
        required: true
      release:
        description: The release folder's name.
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
        description: Other release folders to keep (the running server's); every other one is removed.
        type: list
        elements: str
        default: []
      dirs:
        description: Other folders to make (mode 0755) if they are missing.
        type: list
        elements: path
        default: []
"""
