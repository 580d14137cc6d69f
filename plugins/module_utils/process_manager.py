# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The process runtime's driver: a vLLM server run by supervisord (a program file in its include folder; driven
through its XML-RPC socket, supervisor_rpc) or by systemd (a unit file; systemctl), replaced stop-then-start and
restored from the previous file, as container_cli does for containers. Every command is an argument list (no shell);
names are plain names. Used by vllm_process.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import time

from ansible_collections.inferops.gpu_inference.plugins.module_utils.release import write_atomically
from ansible_collections.inferops.gpu_inference.plugins.module_utils.supervisor_rpc import SupervisorError

NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.@-]*$')
SUPERVISORD_CONFIG = '/etc/supervisor/supervisord.conf'


class ProcessError(Exception):
    pass


class Manager(object):
    """supervisord (through ``supervisor``, a supervisor_rpc.Supervisor) or systemd (through ``run(argv) -> (rc, out,
    err)``, which also starts supervisord itself)."""

    def __init__(self, kind, name, unit_file, run, check, supervisor=None):
        if not NAME.match(name or ''):
            raise ProcessError('name %r is not a plain name (letters, digits and . _ @ -, starting with a letter or digit)'
                               % (name,))
        self.kind, self.name, self.unit_file, self.run, self.check = kind, name, unit_file, run, check
        self.supervisor = supervisor

    def _must(self, argv):
        rc, out, err = self.run(argv)
        if rc != 0:
            raise ProcessError('%s failed (rc %s): %s' % (' '.join(argv), rc, (err or out).strip()[-400:]))
        return out

    # supervisord itself -------------------------------------------------------------------------
    def supervisord_running(self):
        return self.supervisor.running()

    def start_supervisord(self, config, timeout=15, config_file=None, binary='supervisord'):
        """Its folders, its configuration (``config_file``, the system's by default) where there is none, then supervisord
        itself (``binary``); waits until it answers."""
        config_file = config_file or SUPERVISORD_CONFIG
        for folder in (os.path.dirname(config_file), os.path.dirname(self.unit_file)):
            if not os.path.isdir(folder) and not self.check:
                os.makedirs(folder, 0o755)
        if not os.path.exists(config_file) and not self.check:
            write(config_file, config)
        if self.check:
            return
        self._must([binary, '-c', config_file])
        deadline = time.time() + timeout
        while not self.supervisord_running():
            if time.time() > deadline:
                raise ProcessError('supervisord started but does not answer on %s after %d s' % (self.supervisor.path, timeout))
            time.sleep(0.1)

    # the server ---------------------------------------------------------------------------------
    def stop(self):
        if self.check:
            return
        if self.kind == 'supervisor':
            self._rpc(self.supervisor.stop, 'stop')
        else:
            self.run(['systemctl', 'stop', self.name])

    def start(self):
        """Load the file just written and start it (a program that autostarted already counts)."""
        if self.check:
            return
        if self.kind == 'supervisor':
            self._rpc(self.supervisor.update, 'update')
            self._rpc(self.supervisor.start, 'start')
        else:
            self._must(['systemctl', 'daemon-reload'])
            self._must(['systemctl', 'enable', self.name])
            self._must(['systemctl', 'restart', self.name])

    def forget(self):
        """The file is gone: have the manager drop the server."""
        if self.check:
            return
        if self.kind == 'supervisor':
            self._rpc(self.supervisor.update, 'update')
        else:
            self.run(['systemctl', 'disable', self.name])
            self.run(['systemctl', 'daemon-reload'])

    def _rpc(self, method, verb):
        try:
            return method(self.name)
        except SupervisorError as exc:
            raise ProcessError('supervisord could not %s %s: %s' % (verb, self.name, exc))

    # files --------------------------------------------------------------------------------------
    def read(self):
        try:
            with open(self.unit_file) as handle:
                return handle.read()
        except (IOError, OSError):
            return ''

    def write(self, content):
        if not self.check:
            write(self.unit_file, content)

    def remove(self):
        if not self.check and os.path.exists(self.unit_file):
            os.unlink(self.unit_file)


def write(path, content, mode=0o644):
    """Write a text file atomically, making its folder where missing."""
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        os.makedirs(folder, 0o755)
    write_atomically(path, content.encode('utf-8'), mode)


def log_size(path):
    return os.path.getsize(path) if path and os.path.exists(path) else 0


def replace(manager, content, previous, log_file=None):
    """Stop the running server (``previous``: its file, read by the caller before anything changed, so that a failure
    here can still be rolled back), write the new file, start it. Returns dict(set_aside, log_offset)."""
    if previous:
        manager.stop()
    offset = log_size(log_file)
    manager.write(content)
    manager.start()
    return dict(set_aside=bool(previous), log_offset=offset)


def restore(manager, previous):
    """Stop the failed server; put the previous file back and start it, or remove the file when there was none."""
    manager.stop()
    if previous:
        manager.write(previous)
        manager.start()
    else:
        manager.remove()
        manager.forget()
    return dict(restored=bool(previous))


# The line vllm_server writes into each program or unit file (vllm_probe reads the fingerprint from it).
OURS = 'inferops.gpu_inference.vllm_server fingerprint '


def remove(manager, manager_running=True):
    """Stop the server and remove its file, and have the manager forget it (when it runs). Returns dict(changed).
    A file that vllm_server did not write (no fingerprint line) is left as it is, and so is what it runs."""
    present = os.path.exists(manager.unit_file)
    if present and OURS not in manager.read():
        raise ProcessError('%s was not written by vllm_server (no "%s" line): neither stopped nor removed'
                           % (manager.unit_file, OURS.strip()))
    if present:
        if manager_running:
            manager.stop()
        manager.remove()
        if manager_running:
            manager.forget()
    return dict(changed=present)
