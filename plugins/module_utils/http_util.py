# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one HTTP client of the collection's Python: vLLM's OpenAI API and /metrics, dcgm-exporter,
RunPod's REST API. Standard library only (http.client, which imports far less than
module_utils.urls: it matters when every host of a fleet runs a module), so the same code runs
in a module on a node and in a plugin on the controller.

A caller gets the status and the body, or ERRORS when nothing answered; what an error status
means is the caller's (a health probe, a retry, a message). Header values (an API key) are
never put into an error.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket

from ansible.module_utils.six.moves import http_client
from ansible.module_utils.six.moves.urllib.parse import urlsplit

# What a request raises when it got no answer: refused, reset, timed out, not HTTP.
ERRORS = (socket.error, OSError, http_client.HTTPException)
# The largest body read from any answer (a provider's API, a scrape): what a server sends beyond it is refused, not
# read into memory or into a message. A RunPod pod or a DigitalOcean droplet is a few KB; vLLM's /metrics a few hundred.
MAX_BODY = 8 * 1024 * 1024


class TooLarge(ValueError):
    """An answer longer than the limit (MAX_BODY unless the caller gives one)."""


def split(url, schemes=('http', 'https')):
    """(scheme, host, port, path with query) of an absolute URL; ValueError naming it otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in schemes or not parts.hostname:
        allowed = '(%s)' % '|'.join(schemes) if len(schemes) > 1 else schemes[0]
        raise ValueError('the URL must be %s://host[:port][/path], not %r' % (allowed, url))
    port = parts.port or (443 if parts.scheme == 'https' else 80)
    return parts.scheme, parts.hostname, port, (parts.path or '/') + ('?' + parts.query if parts.query else '')


def connect(url, timeout, verify=True):
    """(an open-able http.client connection to the URL's host, the request target)."""
    scheme, host, port, target = split(url)
    if scheme == 'https':
        import ssl  # pylint: disable=import-outside-toplevel
        context = ssl.create_default_context() if verify else ssl._create_unverified_context()  # pylint: disable=protected-access
        return http_client.HTTPSConnection(host, port, timeout=timeout, context=context), target
    return http_client.HTTPConnection(host, port, timeout=timeout), target


def request(url, method='GET', body=None, headers=None, timeout=10, verify=True, max_body=MAX_BODY):
    """(status, body text, response headers as a dict with lower-case names); raises ERRORS when nothing answered,
    TooLarge when the body is longer than max_body bytes."""
    conn, target = connect(url, timeout, verify)
    try:
        conn.request(method, target, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read(max_body + 1)
        if len(data) > max_body:
            raise TooLarge('the answer of %s is longer than %d bytes: refused' % (split(url)[1], max_body))
        text = data.decode('utf-8', 'replace')
        return response.status, text, dict((name.lower(), value) for name, value in response.getheaders())
    finally:
        conn.close()


def get_text(url, headers=None, timeout=10, verify=True):
    """A scrape: (status, text), or (None, 'Error: reason') when nothing answered or the URL is not http(s)."""
    try:
        status, text, dummy = request(url, headers=headers, timeout=timeout, verify=verify)
    except ERRORS + (ValueError,) as exc:
        return None, '%s: %s' % (type(exc).__name__, exc)
    return status, text
