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
import re
import time

from ansible.module_utils.six.moves.urllib.parse import urlencode

from ansible_collections.inferops.gpu_inference.plugins.module_utils import http_util
from ansible_collections.inferops.gpu_inference.plugins.module_utils import provider_answers as answers

DEFAULT_URL = 'https://rest.runpod.io/v1'
TOKEN_ENV = ('RUNPOD_API_KEY', 'RUNPOD_API_TOKEN')
RUNNING, EXITED, TERMINATED = 'RUNNING', 'EXITED', 'TERMINATED'


class RunPodError(Exception):
    def __init__(self, message, status=None, body=None):
        super(RunPodError, self).__init__(message)
        self.status, self.body = status, body


def _message(body):
    """The API's own words about an error, cut short (an answer is never printed whole)."""
    if isinstance(body, dict):
        for key in ('error', 'message', 'detail', 'errors'):
            if body.get(key):
                value = body[key]
                return _cut(value if isinstance(value, str) else json.dumps(value))
    return _cut(str(body)) if body else ''


def _cut(text, limit=300):
    return text if len(text) <= limit else text[:limit] + '...'


class Client(object):
    def __init__(self, token, url=DEFAULT_URL, timeout=30, retries=5, backoff=1.0, sleep=time.sleep):
        if not token:
            raise RunPodError('no RunPod API key: set RUNPOD_API_KEY in the environment (or the api_key option)')
        if not answers.is_header_safe(token):
            raise RunPodError('the RunPod API key holds whitespace or control characters (a newline from a file?): fix '
                              'RUNPOD_API_KEY (or the api_key option)')
        try:
            self.scheme, self.host, dummy, dummy = http_util.split(url)
        except ValueError:
            raise RunPodError('the RunPod API URL must be http(s)://host[:port]/path, not %r' % url)
        self.url = url.rstrip('/')
        self.token, self.timeout, self.retries, self.backoff, self.sleep = token, timeout, retries, backoff, sleep
        self.requests = 0

    def request(self, method, path, body=None, query=None):
        url = self.url + path + ('?' + urlencode(query) if query else '')
        headers = {'Authorization': 'Bearer ' + self.token, 'Accept': 'application/json'}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers['Content-Type'] = 'application/json'
        for attempt in range(self.retries + 1):
            try:
                self.requests += 1
                status, text, response_headers = http_util.request(url, method, data, headers, self.timeout)
                retry_after = response_headers.get('retry-after')
            except http_util.TooLarge as exc:
                raise RunPodError('%s %s: %s' % (method, path, exc))
            except http_util.ERRORS as exc:
                if attempt < self.retries:
                    self.sleep(self.backoff * 2 ** attempt)
                    continue
                raise RunPodError('%s %s: cannot reach the RunPod API at %s://%s: %s' % (
                    method, path, self.scheme, self.host, exc))
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
                        delay = None
                    if delay is None or not 0 <= delay <= 3600:  # NaN, negative, absurd: the client's own backoff
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

    def list(self, path, query=None, max_pages=1000):
        """Every item of a list endpoint, following nextCursor pages (at most max_pages; a cursor seen before ends it)."""
        items, query, cursors = [], dict(query or {}), set()
        for dummy in range(max_pages):
            page = self.request('GET', path, query=query or None)
            if isinstance(page, list):
                return items + page
            if not isinstance(page, dict):
                raise RunPodError('GET %s: the answer is not a list of pods nor a page of them: %s' % (path, answers.quoted(page)))
            found = page.get('data') or page.get('items') or page.get('pods') or []
            if not isinstance(found, list):
                raise RunPodError('GET %s: the page\'s data is not a list: %s' % (path, answers.quoted(found)))
            items.extend(found)
            cursor = page.get('nextCursor') or page.get('next_cursor')
            if not cursor:
                return items
            if not isinstance(cursor, (str, int)) or str(cursor) in cursors:
                raise RunPodError('GET %s: nextCursor=%s repeats or is not a cursor: the pages would never end' % (
                    path, answers.quoted(cursor)))
            cursors.add(str(cursor))
            query['cursor'] = cursor
        raise RunPodError('GET %s: more than %d pages: refused' % (path, max_pages))

    # Pods
    def pods(self):
        return self.list('/pods')

    def pod(self, pod_id):
        return self.request('GET', _pod_path(pod_id))

    def create_pod(self, spec):
        return self.request('POST', '/pods', body=spec)

    def stop_pod(self, pod_id):
        return self.request('POST', _pod_path(pod_id) + '/stop')

    def start_pod(self, pod_id):
        return self.request('POST', _pod_path(pod_id) + '/start')

    def delete_pod(self, pod_id):
        return self.request('DELETE', _pod_path(pod_id))


POD_ID = re.compile(r'^[A-Za-z0-9_-]{1,64}\Z')


def _pod_path(pod_id):
    """A pod's URL path; an id from an answer that is not a RunPod id (a path, a query) is refused."""
    if not isinstance(pod_id, str) or not POD_ID.match(pod_id):
        raise RunPodError('the pod id %s is not a RunPod id (letters, digits, _ or -): not used in a request' % answers.quoted(pod_id))
    return '/pods/%s' % pod_id


def summary(pod):
    """The fields an inventory or a report wants, named as Ansible users expect, each checked as the API documents it
    (provider_answers): BadAnswer names the first field that is not (a name that cannot be a host name, a public IP
    that is not an address, a port mapping outside 1-65535, an item that is not an object)."""
    if not isinstance(pod, dict):
        raise answers.BadAnswer('pod', pod, 'must be an object')
    pod_id = answers.host_name(pod.get('id'), 'id')
    name = answers.host_name(pod.get('name'), 'name') if pod.get('name') not in (None, '') else None
    gpu = answers.mapping(pod.get('gpu'), 'gpu')
    gpu_count = gpu.get('count') if gpu.get('count') is not None else pod.get('gpuCount')
    mappings = answers.mapping(pod.get('portMappings'), 'portMappings')
    port_mappings = {}
    for key, value in mappings.items():
        inner = str(answers.port(key, 'portMappings key'))
        if inner in port_mappings:
            raise answers.BadAnswer('portMappings', mappings, 'maps port %s twice' % inner)
        port_mappings[inner] = answers.port(value, 'portMappings.%s' % _cut(str(key), 20))
    public_ip = answers.address(pod.get('publicIp'), 'publicIp', optional=True)
    ssh_port = port_mappings.get('22')
    return {
        'id': pod_id, 'name': name, 'status': answers.token(pod.get('desiredStatus'), 'desiredStatus'),
        'image': answers.text(pod.get('image') or pod.get('imageName'), 'image'),
        'gpu_type': answers.text(gpu.get('displayName') or gpu.get('id') or pod.get('gpuTypeId'), 'gpu.displayName'),
        'gpu_count': answers.count(gpu_count or 0, 'gpu.count', most=64),
        'public_ip': public_ip, 'ssh_port': ssh_port if public_ip else None, 'ssh_host': public_ip if ssh_port else None,
        'port_mappings': port_mappings,
        'cost_per_hr': answers.number(pod.get('costPerHr'), 'costPerHr'),
    }


# What a pod's settings must be before any API call (runpod_pod, and provision.yml through the runpod_pod_problems filter).
POD_NAME = answers.HOST_NAME  # one rule for the names runpod_pod makes and the names an answer may give
POD_PORT = re.compile(r'^([0-9]{1,5})/(http|tcp)\Z')
ENV_NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*\Z')
SECRET_NAME = re.compile(r'(?i)(^|_)(token|secret|password|passwd|api_?key|access_?key|private_?key|credentials?)(_|$)')
CLOUD_TYPES = ('SECURE', 'COMMUNITY', 'ALL')


def pod_problems(spec, where='', required=('image', 'gpu_type')):
    """What is wrong with a pod's settings (runpod_pod's option names), each naming the option, the value (never a
    secret_env value) and what is allowed. ``required``: the options that creating the pod needs and that have no
    default where the settings come from."""
    problems = []
    pre = where + '.' if where else ''
    name = spec.get('name')
    if not isinstance(name, str) or not POD_NAME.match(name):
        problems.append('%sname=%s must be 1 to 63 letters, digits, . _ or -, starting with a letter or digit (it becomes the '
                        'inventory host name)' % (pre, json.dumps(name)))
    for key in required:
        if not spec.get(key):
            problems.append('%s%s is missing: a pod needs it to be created' % (pre, key))
    for key, least in (('gpu_count', 1), ('container_disk_gb', 1), ('volume_gb', 0), ('wait_timeout', 1)):
        if key in spec and spec[key] is not None:
            try:
                bad = isinstance(spec[key], bool) or int(spec[key]) != float(spec[key]) or int(spec[key]) < least
            except (TypeError, ValueError):
                bad = True
            if bad:
                problems.append('%s%s=%s must be a whole number of %d or more' % (pre, key, json.dumps(spec[key]), least))
    ports = spec.get('ports')
    if ports is not None:
        if not isinstance(ports, list):
            problems.append('%sports=%s must be a list such as ["8000/http", "22/tcp"]' % (pre, json.dumps(ports)))
        else:
            for port in ports:
                match = POD_PORT.match(str(port))
                if not match or not 1 <= int(match.group(1)) <= 65535:
                    problems.append('%sports item %s must be PORT/http or PORT/tcp with PORT from 1 to 65535 (RunPod needs '
                                    'the protocol)' % (pre, json.dumps(port)))
            if len(set(str(p).split('/', 1)[0] for p in ports)) != len(ports):
                problems.append('%sports=%s lists a port twice' % (pre, json.dumps(ports)))
    cloud = spec.get('cloud_type')
    if cloud is not None and cloud not in CLOUD_TYPES:
        problems.append('%scloud_type=%s must be one of %s' % (pre, json.dumps(cloud), ', '.join(CLOUD_TYPES)))
    env, secret_env = spec.get('env') or {}, spec.get('secret_env') or {}
    for label, names in (('env', env), ('secret_env', secret_env)):
        if not isinstance(names, dict):
            problems.append('%s%s must be a dictionary of variable names to values' % (pre, label))
            continue
        bad = sorted(str(k) for k in names if not ENV_NAME.match(str(k)))
        if bad:
            problems.append('%s%s names %s must be letters, digits and _, not starting with a digit' % (pre, label, json.dumps(bad)))
    if isinstance(env, dict):
        secret = sorted(str(k) for k in env if SECRET_NAME.search(str(k)))
        if secret:
            problems.append('%senv names %s look like secrets, which env shows in plain view (the API, -vvv output): put them in '
                            'secret_env' % (pre, ', '.join(secret)))
        if isinstance(secret_env, dict):
            both = sorted(set(env) & set(secret_env))
            if both:
                problems.append('%s%s set in both env and secret_env' % (pre, ', '.join(both)))
    return problems
