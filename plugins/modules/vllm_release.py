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

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.inferops.gpu_inference.plugins.module_utils.release import apply, release_spec


def main():
    module = AnsibleModule(argument_spec=release_spec(), supports_check_mode=True)
    try:
        result = apply(module.params, module.check_mode)
    except (ValueError, IOError, OSError) as exc:
        module.fail_json(msg='vllm_release: %s' % exc)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
