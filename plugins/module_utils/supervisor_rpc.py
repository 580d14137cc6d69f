# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""supervisord's XML-RPC interface over its UNIX socket (stdlib only): what supervisorctl sends, without starting
a Python process per command. The socket is the one of ``[unix_http_server]`` (Debian's package and the role's own
configuration: /var/run/supervisor.sock, no password). Used by vllm_process (replace, restore) and vllm_probe.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket

try:
    import http.client as httplib
    import xmlrpc.client as xmlrpclib
except ImportError:  # pragma: no cover - Python 2
    import httplib
    import xmlrpclib

SOCKET = '/var/run/supervisor.sock'
# supervisord's fault codes (supervisor.xmlrpc.Faults)
BAD_NAME = 10
ALREADY_STARTED = 60
NOT_RUNNING = 70
ALREADY_ADDED = 90


class SupervisorError(Exception):
    """supervisord did not answer (``fault`` None) or refused (``fault``: its fault code)."""

    def __init__(self, msg, fault=None):
        Exception.__init__(self, msg)
        self.fault = fault


class _UnixConnection(httplib.HTTPConnection):
    def __init__(self, path, timeout):
        httplib.HTTPConnection.__init__(self, 'localhost', timeout=timeout)
        self._socket_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._socket_path)
        self.sock = sock


class _UnixTransport(xmlrpclib.Transport):
    def __init__(self, path, timeout):
        xmlrpclib.Transport.__init__(self)
        self._socket_path, self._timeout = path, timeout

    def make_connection(self, host):
        return _UnixConnection(self._socket_path, self._timeout)


class Supervisor(object):
    """A supervisord reached at ``path``. Methods raise SupervisorError when it does not answer or refuses (except
    the refusals that mean "already so")."""

    def __init__(self, path=SOCKET, timeout=70):
        self.path = path
        self._rpc = xmlrpclib.ServerProxy('http://localhost/RPC2', transport=_UnixTransport(path, timeout), allow_none=True)

    def call(self, method, *args):
        """supervisor.<method>(*args)."""
        try:
            return getattr(self._rpc.supervisor, method)(*args)
        except xmlrpclib.Fault as exc:
            raise SupervisorError('%s: %s' % (method, exc.faultString), exc.faultCode)
        except (socket.error, OSError, xmlrpclib.Error, httplib.HTTPException) as exc:
            raise SupervisorError('no answer on %s (%s)' % (self.path, exc))

    def _call_unless(self, faults, method, *args):
        try:
            return self.call(method, *args)
        except SupervisorError as exc:
            if exc.fault not in faults:
                raise

    def running(self):
        """Whether supervisord answers on the socket."""
        try:
            return self.call('getState').get('statename') == 'RUNNING'
        except SupervisorError:
            return False

    def state(self, name):
        """The program's state (RUNNING, STARTING, STOPPED, FATAL, ...), or ABSENT when supervisord has no such program."""
        try:
            return self.call('getProcessInfo', name)['statename']
        except SupervisorError as exc:
            if exc.fault == BAD_NAME:
                return 'ABSENT'
            raise

    def pid(self, name):
        return self.call('getProcessInfo', name)['pid']

    def stop(self, name):
        """Stop the program and wait until it stopped (its stopwaitsecs); nothing to do when it does not run."""
        self._call_unless((BAD_NAME, NOT_RUNNING), 'stopProcess', name, True)

    def update(self, name):
        """What `supervisorctl update NAME` does: reread the configuration; the program removed or replaced where its
        file changed or went, added where it is new (added, it starts by itself with autostart=true)."""
        added, changed, removed = self.call('reloadConfig')[0]
        if name in removed or name in changed:
            self.stop(name)
            self.call('removeProcessGroup', name)
        if name in added or name in changed:
            self._call_unless((ALREADY_ADDED,), 'addProcessGroup', name)

    def start(self, name):
        """Start the program without waiting for its startsecs; one that started already counts."""
        self._call_unless((ALREADY_STARTED,), 'startProcess', name, False)

    def shutdown(self):
        self.call('shutdown')
