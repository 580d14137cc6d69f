# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""RunPod's REST API (https://rest.runpod.io/v1) as the inventory plugin and runpod_pod use it.

Bearer authentication; JSON error bodies turned into RunPodError with the status and the
API's message; 429 and 5xx retried with the Retry-After header or a backoff; list
endpoints followed across pages (a bare list, or {"data"/"items": [...], "nextCursor"}).
The token never appears in an error or a log line. Standard library only, so it runs in
a module as well as on the controller.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import socket
import time

from ansible.module_utils.six.moves import http_client
from ansible.module_utils.six.moves.urllib.parse import urlencode, urlsplit

DEFAULT_URL = 'https://rest.runpod.io/v1'
TOKEN_ENV = ('RUNPOD_API_KEY', 'RUNPOD_API_TOKEN')
RUNNING, EXITED, TERMINATED = 'RUNNING', 'EXITED', 'TERMINATED'


class RunPodError(Exception):
    def __init__(self, message, status=None, body=None):
        super(RunPodError, self).__init__(message)
        self.status, self.body = status, body


def _message(body):
    if isinstance(body, dict):
        for key in ('error', 'message', 'detail', 'errors'):
            if body.get(key):
                value = body[key]
                return value if isinstance(value, str) else json.dumps(value)
    return str(body)[:300] if body else ''


class Client(object):
    def __init__(self, token, url=DEFAULT_URL, timeout=30, retries=5, backoff=1.0, sleep=time.sleep):
        if not token:
            raise RunPodError('no RunPod API key: set RUNPOD_API_KEY in the environment (or the api_key option)')
        parts = urlsplit(url.rstrip('/'))
        if parts.scheme not in ('http', 'https') or not parts.hostname:
            raise RunPodError('the RunPod API URL must be http(s)://host[:port]/path, not %r' % url)
        self.scheme, self.host, self.port, self.prefix = parts.scheme, parts.hostname, parts.port, parts.path
        self.token, self.timeout, self.retries, self.backoff, self.sleep = token, timeout, retries, backoff, sleep
        self.requests = 0

    def _conn(self):
        cls = http_client.HTTPSConnection if self.scheme == 'https' else http_client.HTTPConnection
        return cls(self.host, self.port, timeout=self.timeout)

    def request(self, method, path, body=None, query=None):
        url = self.prefix + path + ('?' + urlencode(query) if query else '')
        headers = {'Authorization': 'Bearer ' + self.token, 'Accept': 'application/json'}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers['Content-Type'] = 'application/json'
        for attempt in range(self.retries + 1):
            conn = self._conn()
            try:
                self.requests += 1
                conn.request(method, url, body=data, headers=headers)
                response = conn.getresponse()
                status, text = response.status, response.read().decode('utf-8', 'replace')
                retry_after = response.getheader('Retry-After')
            except (socket.error, OSError, http_client.HTTPException) as exc:
                if attempt < self.retries:
                    self.sleep(self.backoff * 2 ** attempt)
                    continue
                raise RunPodError('%s %s: cannot reach the RunPod API at %s://%s: %s' % (
                    method, path, self.scheme, self.host, exc))
            finally:
                conn.close()
            try:
                parsed = json.loads(text) if text else None
            except ValueError:
                parsed = text
            # 429: the request was not taken, so any method may be retried; a 5xx only for reads
            # and deletes (a retried POST could make a second pod).
            if status == 429 or (status >= 500 and method in ('GET', 'DELETE')):
                if attempt < self.retries:
                    try:
                        delay = float(retry_after)
                    except (TypeError, ValueError):
                        delay = self.backoff * 2 ** attempt
                    self.sleep(min(delay, 60))
                    continue
            if status >= 400:
                hint = {401: ' (is RUNPOD_API_KEY right?)', 403: ' (the key lacks this permission)',
                        404: ' (no such resource)', 429: ' (rate limited, retries exhausted)'}.get(status, '')
                raise RunPodError('%s %s failed: HTTP %d%s: %s' % (method, path, status, hint, _message(parsed)),
                                  status, parsed)
            return parsed
        raise RunPodError('%s %s: retries exhausted' % (method, path))  # pragma: no cover

    def list(self, path, query=None):
        """Every item of a list endpoint, following nextCursor pages."""
        items, query = [], dict(query or {})
        while True:
            page = self.request('GET', path, query=query or None)
            if isinstance(page, list):
                return items + page
            if not isinstance(page, dict):
                raise RunPodError('GET %s: unexpected answer %r' % (path, page))
            items.extend(page.get('data') or page.get('items') or page.get('pods') or [])
            cursor = page.get('nextCursor') or page.get('next_cursor')
            if not cursor:
                return items
            query['cursor'] = cursor

    # Pods
    def pods(self):
        return self.list('/pods')

    def pod(self, pod_id):
        return self.request('GET', '/pods/%s' % pod_id)

    def create_pod(self, spec):
        return self.request('POST', '/pods', body=spec)

    def stop_pod(self, pod_id):
        return self.request('POST', '/pods/%s/stop' % pod_id)

    def start_pod(self, pod_id):
        return self.request('POST', '/pods/%s/start' % pod_id)

    def delete_pod(self, pod_id):
        return self.request('DELETE', '/pods/%s' % pod_id)


def ssh_endpoint(pod):
    """(public ip, public port of 22) when the pod maps SSH, else (None, None)."""
    mappings = pod.get('portMappings') or {}
    port = mappings.get('22') or mappings.get(22)
    return (pod.get('publicIp') or None, int(port)) if port and pod.get('publicIp') else (None, None)


def summary(pod):
    """The fields an inventory or a report wants, named as Ansible users expect."""
    gpu = pod.get('gpu') or {}
    ip, port = ssh_endpoint(pod)
    return {
        'id': pod.get('id'), 'name': pod.get('name'), 'status': pod.get('desiredStatus'),
        'image': pod.get('image') or pod.get('imageName'),
        'gpu_type': gpu.get('displayName') or gpu.get('id') or pod.get('gpuTypeId'),
        'gpu_count': gpu.get('count') or pod.get('gpuCount') or 0,
        'public_ip': pod.get('publicIp'), 'ssh_port': port, 'ssh_host': ip,
        'port_mappings': dict((str(k), v) for k, v in (pod.get('portMappings') or {}).items()),
        'cost_per_hr': pod.get('costPerHr'),
    }
