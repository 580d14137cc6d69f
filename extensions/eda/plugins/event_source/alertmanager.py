# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Event source plugin of ansible-rulebook: Prometheus Alertmanager's webhook, one event per alert.

The collection's own (``ansible.eda``'s is not needed): an HTTP server on ``asyncio`` streams, standard library
only, as ansible-rulebook loads a source plugin by its path (``runpy``), not as a package.

Alertmanager POSTs its webhook payload (version 4) to ``path``; each alert in it becomes one event::

    {"alert": {"status": "firing", "labels": {...}, "annotations": {...}, "startsAt": ..., "endsAt": ...,
               "generatorURL": ..., "fingerprint": ...},
     "alertmanager": {"receiver": ..., "status": ..., "groupKey": ..., "groupLabels": {...}, "commonLabels": {...},
                      "externalURL": ..., "truncatedAlerts": 0},
     "node": "<the alert's node label>",
     "meta": {"endpoint": "/alerts", "hosts": ["<the alert's node label>"]}}

``meta.hosts`` is how ansible-rulebook targets hosts: a ``run_playbook`` for this event is limited to the node.
A payload that is not Alertmanager's (not JSON, not version 4, an alert without status or labels) is refused
with HTTP 400 and a log line, and makes no event; another method is refused with 405, another path with 404.

Arguments (``args``, templated by ansible-rulebook, so numbers may arrive as strings):

* ``host``: the address to listen on (default ``127.0.0.1``);
* ``port``: the port (default ``5001``);
* ``path``: the webhook's path (default ``/alerts``);
* ``node_label``: the alert label that names the node's inventory host (default ``node``);
* ``nodes``: the inventory hosts an alert may name (the role writes the nodes Prometheus scrapes); an alert naming
  another is refused with 400. Empty: any name that is a host name;
* ``token``: when set, a request must carry ``Authorization: Bearer <token>`` (Alertmanager's
  ``http_config.authorization``), else it is refused with 401;
* ``max_body``: the largest payload accepted, in bytes (default 4 MiB; Alertmanager truncates its alerts far below).

Example rulebook source::

    sources:
      - inferops.gpu_inference.alertmanager:
          host: 127.0.0.1
          port: 5001
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import asyncio
import json
import logging
import re

LOG = logging.getLogger('inferops.gpu_inference.alertmanager')
STATUSES = ('firing', 'resolved')
# The node label becomes a playbook's host selection and an extra variable, which Ansible templates: an inventory host
# name only (no pattern, no comma, no space, no template).
NODE_NAME = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}$')
REASONS = {200: 'OK', 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 405: 'Method Not Allowed',
           408: 'Request Timeout', 411: 'Length Required', 413: 'Payload Too Large'}
_ALERT_KEYS = ('status', 'labels', 'annotations', 'startsAt', 'endsAt', 'generatorURL', 'fingerprint')
_GROUP_KEYS = ('receiver', 'status', 'groupKey', 'groupLabels', 'commonLabels', 'commonAnnotations', 'externalURL',
               'truncatedAlerts')


class BadRequest(Exception):
    """A request refused, with its HTTP status."""

    def __init__(self, status, reason):
        super(BadRequest, self).__init__(reason)
        self.status = status
        self.reason = reason


def _labels(value, where):
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise BadRequest(400, '%s is not a map of strings' % where)
    return value


def events_of(payload, path='/alerts', node_label='node', nodes=()):
    """The events of one Alertmanager webhook payload (version 4); BadRequest when it is not one."""
    if not isinstance(payload, dict):
        raise BadRequest(400, 'the payload is not a JSON object')
    if str(payload.get('version')) != '4':
        raise BadRequest(400, 'not an Alertmanager webhook payload of version 4 (version: %r)' % (payload.get('version'),))
    alerts = payload.get('alerts')
    if not isinstance(alerts, list):
        raise BadRequest(400, 'the payload has no list of alerts')
    group = dict((key, payload[key]) for key in _GROUP_KEYS if key in payload)
    events = []
    for index, alert in enumerate(alerts):
        if not isinstance(alert, dict):
            raise BadRequest(400, 'alert %d is not an object' % index)
        if alert.get('status') not in STATUSES:
            raise BadRequest(400, 'alert %d has status %r; expected one of %s' % (index, alert.get('status'), ', '.join(STATUSES)))
        labels = _labels(alert.get('labels'), 'alert %d\'s labels' % index)
        _labels(alert.get('annotations', {}), 'alert %d\'s annotations' % index)
        event = {'alert': dict((key, alert[key]) for key in _ALERT_KEYS if key in alert),
                 'alertmanager': group, 'meta': {'endpoint': path}}
        node = labels.get(node_label)
        if node and not NODE_NAME.match(node):
            raise BadRequest(400, 'alert %d\'s %s label %r is not an inventory host name (letters, digits, _ . -)' % (
                index, node_label, node[:80]))
        if node and nodes and node not in nodes:
            raise BadRequest(400, 'alert %d\'s %s label %r is none of the nodes this rulebook acts on (%s)' % (
                index, node_label, node, ', '.join(sorted(nodes))))
        if node:
            event['node'] = node
            event['meta']['hosts'] = [node]
        events.append(event)
    return events


async def _read_request(reader, max_body):
    line = await reader.readline()
    if not line:
        return None
    parts = line.decode('latin-1').split()
    if len(parts) != 3 or not parts[2].startswith('HTTP/'):
        raise BadRequest(400, 'not an HTTP request line: %r' % line[:80])
    headers = {}
    while True:
        raw = await reader.readline()
        if raw in (b'\r\n', b'\n', b''):
            break
        name, sep, value = raw.decode('latin-1').partition(':')
        if not sep:
            raise BadRequest(400, 'a malformed header line')
        headers[name.strip().lower()] = value.strip()
        if len(headers) > 100:
            raise BadRequest(400, 'too many headers')
    body = b''
    if 'content-length' in headers:
        try:
            length = int(headers['content-length'])
        except ValueError:
            raise BadRequest(400, 'Content-Length is not a number')
        if length < 0:
            raise BadRequest(400, 'Content-Length is negative')
        if length > max_body:
            raise BadRequest(413, 'the body has %d bytes; at most %d are accepted' % (length, max_body))
        body = await reader.readexactly(length)
    elif parts[0] == 'POST':
        raise BadRequest(411, 'a POST without Content-Length')
    return parts[0], parts[1], headers, body


def _reply(writer, status, body):
    data = json.dumps(body).encode() + b'\n'
    writer.write(('HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n'
                  % (status, REASONS.get(status, 'Error'), len(data))).encode('latin-1') + data)


def make_handler(queue, settings):
    """The connection handler: one request per connection, answered, then closed."""

    async def handle(reader, writer):
        peer = writer.get_extra_info('peername')
        try:
            try:
                request = await asyncio.wait_for(_read_request(reader, settings['max_body']), settings['timeout'])
                if request is None:
                    return
                method, target, headers, body = request
                if target.split('?', 1)[0] != settings['path']:
                    raise BadRequest(404, 'no webhook at %s (it is at %s)' % (target[:80], settings['path']))
                if method != 'POST':
                    raise BadRequest(405, '%s is not allowed; Alertmanager POSTs' % method[:16])
                if settings['token'] and headers.get('authorization') != 'Bearer ' + settings['token']:
                    raise BadRequest(401, 'no valid bearer token')
                try:
                    payload = json.loads(body.decode('utf-8'))
                except ValueError as exc:
                    raise BadRequest(400, 'the body is not JSON: %s' % exc)
                events = events_of(payload, settings['path'], settings['node_label'], settings['nodes'])
            except asyncio.TimeoutError:
                raise BadRequest(408, 'the request was not read within %ss' % settings['timeout'])
            except asyncio.IncompleteReadError:
                raise BadRequest(400, 'the body ended before Content-Length')
        except BadRequest as exc:
            LOG.warning('alertmanager source: ignored a request from %s: HTTP %d, %s', peer, exc.status, exc.reason)
            _reply(writer, exc.status, {'error': exc.reason})
        else:
            for event in events:
                await queue.put(event)
            LOG.info('alertmanager source: %d alert(s) from %s (%s)', len(events), peer,
                     ', '.join('%s %s %s' % (e['alert']['status'], e['alert']['labels'].get('alertname', '?'),
                                             e.get('node', '-')) for e in events) or 'none')
            _reply(writer, 200, {'events': len(events)})
        finally:
            try:
                await writer.drain()
                writer.close()
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass
    return handle


def settings_of(args):
    """The plugin's arguments with their defaults, checked; ValueError naming the argument."""
    args = args or {}
    settings = {'host': str(args.get('host') or '127.0.0.1'), 'path': str(args.get('path') or '/alerts'),
                'node_label': str(args.get('node_label') or 'node'), 'token': str(args.get('token') or '')}
    for name, default, low, high in (('port', 5001, 0, 65535), ('max_body', 4 * 1024 * 1024, 1, 1 << 30),
                                     ('timeout', 10, 1, 3600)):
        value = args.get(name, default)
        try:
            value = int(value)
        except (TypeError, ValueError):
            raise ValueError('alertmanager source: %s=%r is not a number' % (name, value))
        if not low <= value <= high:
            raise ValueError('alertmanager source: %s=%d is out of range (%d to %d)' % (name, value, low, high))
        settings[name] = value
    nodes = args.get('nodes') or []
    if isinstance(nodes, str):  # a template rendered as text: "['a', 'b']" or "a, b"
        try:
            nodes = ast.literal_eval(nodes) if nodes.strip().startswith('[') else [n.strip() for n in nodes.split(',') if n.strip()]
        except (ValueError, SyntaxError):
            raise ValueError('alertmanager source: nodes=%r must be a list of inventory host names' % (nodes,))
    if not isinstance(nodes, list) or not all(isinstance(n, str) and NODE_NAME.match(n) for n in nodes):
        raise ValueError('alertmanager source: nodes=%r must be a list of inventory host names' % (nodes,))
    settings['nodes'] = frozenset(nodes)
    if not settings['path'].startswith('/'):
        raise ValueError('alertmanager source: path=%r must start with /' % settings['path'])
    return settings


async def main(queue, args):
    """ansible-rulebook's entry point: serve until cancelled."""
    settings = settings_of(args)
    server = await asyncio.start_server(make_handler(queue, settings), settings['host'], settings['port'])
    LOG.info('alertmanager source: listening on http://%s:%d%s', settings['host'], settings['port'], settings['path'])
    async with server:
        await server.serve_forever()


if __name__ == '__main__':
    # By hand: print the events of whatever POSTs to http://127.0.0.1:5001/alerts.
    class _PrintQueue:
        async def put(self, event):
            print(json.dumps(event))

    logging.basicConfig(level=logging.INFO)
    asyncio.run(main(_PrintQueue(), {}))
