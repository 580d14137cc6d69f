# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The OpenAI-compatible HTTP API of vLLM, as the checks use it (stdlib only).

GET /health, GET /v1/models, GET /metrics, POST /v1/completions and /v1/chat/completions, and the
Server-Sent Events of a streamed request; and the smoke test made of them (a completion, a
chat and a streamed request must each return tokens). No secrets are logged; the API key only goes
into the Authorization header.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import threading
import time

from ansible_collections.inferops.gpu_inference.plugins.module_utils import http_util


class ApiError(Exception):
    pass


class Client(object):
    def __init__(self, base_url, api_key=None, timeout=30):
        try:
            dummy, self.host, self.port, dummy = http_util.split(base_url, schemes=('http',))
        except ValueError:
            raise ApiError('base URL must be http://host:port, not %r' % base_url)
        self.base_url = base_url.rstrip('/')
        self.api_key = api_key
        self.timeout = timeout

    def _headers(self, body):
        headers = {'Accept': 'application/json'}
        if body is not None:
            headers['Content-Type'] = 'application/json'
        if self.api_key:
            headers['Authorization'] = 'Bearer ' + self.api_key
        return headers

    def request(self, method, path, body=None):
        """(status, parsed JSON or text); status None when nothing listens."""
        data = json.dumps(body) if body is not None else None
        try:
            status, text, dummy = http_util.request(self.base_url + path, method, data, self._headers(body), self.timeout)
        except http_util.ERRORS + (http_util.TooLarge,) as exc:
            return None, '%s: %s' % (type(exc).__name__, exc)
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def health(self):
        return self.request('GET', '/health')[0]

    def metrics(self):
        """(status, the Prometheus text of /metrics); status None when nothing listens (the text then says why)."""
        headers = {'Accept': 'text/plain'}
        if self.api_key:
            headers['Authorization'] = 'Bearer ' + self.api_key
        try:
            status, text, dummy = http_util.request(self.base_url + '/metrics', 'GET', None, headers, self.timeout)
        except http_util.ERRORS + (http_util.TooLarge,) as exc:
            return None, '%s: %s' % (type(exc).__name__, exc)
        return status, text

    def models(self):
        status, body = self.request('GET', '/v1/models')
        if status != 200 or not isinstance(body, dict):
            return status, []
        return status, [m.get('id') for m in body.get('data') or []]

    def stream(self, path, body):
        """POST with stream=true: (status, list of JSON chunks, saw [DONE], error)."""
        conn, target = http_util.connect(self.base_url + path, self.timeout)
        chunks, done = [], False
        try:
            conn.request('POST', target, body=json.dumps(dict(body, stream=True)), headers=self._headers(body))
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
        except http_util.ERRORS + (ValueError,) as exc:
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


SMOKE_TESTS = ('completion', 'chat', 'stream')
SMOKE_PROMPT = 'The capital of France is'
SMOKE_MAX_TOKENS = 8
# Tiny random test models answer only whitespace at temperature 0.
SMOKE_TEMPERATURE = 1.0


def smoke_test(client, name, model, prompt, max_tokens, temperature=SMOKE_TEMPERATURE, seed=7):
    """One smoke test: (result, response JSON or None). The result has ok, status, tokens
    (completion tokens, or chunks for the stream), text, seconds and error."""
    body = {'model': model, 'max_tokens': max_tokens, 'temperature': temperature, 'seed': seed}
    start = time.time()
    if name == 'stream':
        status, chunks, done, error = client.stream('/v1/completions', dict(body, prompt=prompt))
        ok = status == 200 and done and len(chunks) >= 1 and not error
        return {'ok': ok, 'status': status, 'tokens': len(chunks), 'text': ''.join(completion_text(c) for c in chunks),
                'done': done, 'seconds': round(time.time() - start, 3),
                'error': error or (None if ok else 'stream ended without chunks or [DONE]')}, None
    if name == 'chat':
        status, answer = client.request('POST', '/v1/chat/completions', dict(body, messages=[{'role': 'user', 'content': prompt}]))
    else:
        status, answer = client.request('POST', '/v1/completions', dict(body, prompt=prompt))
    seconds = round(time.time() - start, 3)
    if status != 200 or not isinstance(answer, dict):
        return {'ok': False, 'status': status, 'tokens': 0, 'text': '', 'seconds': seconds, 'error': str(answer)[:500]}, None
    tokens = (answer.get('usage') or {}).get('completion_tokens') or 0
    ok = tokens > 0
    return {'ok': ok, 'status': status, 'tokens': tokens, 'text': completion_text(answer), 'seconds': seconds,
            'error': None if ok else 'no completion tokens'}, answer


def smoke(client, tests, model, prompt, max_tokens, temperature=SMOKE_TEMPERATURE, seed=7, sequential=False):
    """The smoke tests, sent at once (they are independent: the server batches them, one wait
    instead of three), or one after the other with sequential (each one's seconds then are that
    request's alone, as a single timed request by hand). Returns {'tests': {name: result},
    'failed': [names], 'sample_response': the chat response JSON or None, 'message': what failed,
    or None}."""
    answers = {}

    def one(name):
        try:
            answers[name] = smoke_test(client, name, model, prompt, max_tokens, temperature, seed)
        # Reported as that test's failure, not lost in a thread.
        except Exception as exc:  # pylint: disable=broad-except
            answers[name] = ({'ok': False, 'status': None, 'tokens': 0, 'text': '', 'seconds': 0,
                              'error': '%s: %s' % (type(exc).__name__, exc)}, None)

    if sequential:
        for name in tests:
            one(name)
    else:
        threads = [threading.Thread(target=one, args=(name,)) for name in tests]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    results = dict((name, answers[name][0]) for name in tests)
    failed = [name for name in tests if not results[name]['ok']]
    message = 'smoke test failed: %s' % '; '.join(
        '%s (HTTP %s: %s)' % (n, results[n]['status'], results[n]['error']) for n in failed) if failed else None
    return {'tests': results, 'failed': failed, 'message': message,
            'sample_response': answers['chat'][1] if 'chat' in answers else None}
