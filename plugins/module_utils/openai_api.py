# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The OpenAI-compatible HTTP API of vLLM, as the checks use it (stdlib only).

GET /health, GET /v1/models, POST /v1/completions and /v1/chat/completions, and the
Server-Sent Events of a streamed request. No secrets are logged; the API key only goes
into the Authorization header.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import socket

from ansible.module_utils.six.moves import http_client
from ansible.module_utils.six.moves.urllib.parse import urlsplit


class ApiError(Exception):
    pass


class Client(object):
    def __init__(self, base_url, api_key=None, timeout=30):
        parts = urlsplit(base_url)
        if parts.scheme != 'http' or not parts.hostname:
            raise ApiError('base URL must be http://host:port, not %r' % base_url)
        self.host, self.port = parts.hostname, parts.port or 80
        self.api_key = api_key
        self.timeout = timeout

    def _connect(self):
        return http_client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def _headers(self, body):
        headers = {'Accept': 'application/json'}
        if body is not None:
            headers['Content-Type'] = 'application/json'
        if self.api_key:
            headers['Authorization'] = 'Bearer ' + self.api_key
        return headers

    def request(self, method, path, body=None):
        """(status, parsed JSON or text); status None when nothing listens."""
        conn = self._connect()
        try:
            data = json.dumps(body) if body is not None else None
            conn.request(method, path, body=data, headers=self._headers(body))
            response = conn.getresponse()
            text = response.read().decode('utf-8', 'replace')
        except (socket.error, OSError, http_client.HTTPException) as exc:
            return None, '%s: %s' % (type(exc).__name__, exc)
        finally:
            conn.close()
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, text

    def health(self):
        return self.request('GET', '/health')[0]

    def models(self):
        status, body = self.request('GET', '/v1/models')
        if status != 200 or not isinstance(body, dict):
            return status, []
        return status, [m.get('id') for m in body.get('data') or []]

    def stream(self, path, body):
        """POST with stream=true: (status, list of JSON chunks, saw [DONE], error)."""
        conn = self._connect()
        chunks, done = [], False
        try:
            conn.request('POST', path, body=json.dumps(dict(body, stream=True)), headers=self._headers(body))
            response = conn.getresponse()
            if response.status != 200:
                return response.status, [], False, response.read().decode('utf-8', 'replace')[:500]
            for raw in response:
                line = raw.decode('utf-8', 'replace').strip()
                if not line.startswith('data:'):
                    continue
                payload = line[5:].strip()
                if payload == '[DONE]':
                    done = True
                    break
                chunks.append(json.loads(payload))
            return response.status, chunks, done, None
        except (socket.error, OSError, http_client.HTTPException, ValueError) as exc:
            return None, chunks, done, '%s: %s' % (type(exc).__name__, exc)
        finally:
            conn.close()


def completion_text(body):
    """The generated text of a completions or chat response (or of one streamed chunk)."""
    out = []
    for choice in (body or {}).get('choices') or []:
        if 'text' in choice:
            out.append(choice.get('text') or '')
        for key in ('message', 'delta'):
            part = choice.get(key) or {}
            out.append(part.get('content') or '')
            out.append(part.get('reasoning_content') or part.get('reasoning') or '')
    return ''.join(out)
