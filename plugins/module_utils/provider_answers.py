# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""A provider's answer is input: what RunPod's or DigitalOcean's API says about a pod or a droplet, checked where it
enters the collection (the inventory plugins, runpod_pod, the droplet role).

A pod's or droplet's name becomes an inventory host name, its address and port reach ssh's command line as
ansible_host and ansible_port, and its fields become host variables that templates (the gateway's haproxy.cfg) and
keyed groups read. So each item is judged on its own before it makes a host: names by the rule runpod_pod applies to
the names it is given, addresses as IP addresses, ports as whole numbers from 1 to 65535, items as objects, text
fields without control characters. A bad item raises BadAnswer naming the field, the value (cut short) and what is
allowed; the inventory plugins leave that one item out with one warning, the modules fail naming it.
Standard library only: it runs in modules on a node as well as in plugins on the controller.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import math
import re

from ansible_collections.inferops.gpu_inference.plugins.module_utils.addresses import is_ip, port_number, shorten

# A pod's or droplet's name: what runpod_pod accepts for the pods it makes (it becomes the inventory host name).
HOST_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}\Z')
# Ids, slugs and statuses: a token (no whitespace, quotes or shell syntax).
TOKEN = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}\Z')
# A name that reads as an address (127.1, 2130706433, 0): SSH would go there when the host has no address of its own.
ADDRESS_LIKE = re.compile(r'^[0-9.]+\Z|^0x', re.I)
CONTROL = re.compile(r'[\x00-\x1f\x7f]')


class BadAnswer(ValueError):
    """One field of a provider's answer that is not what the API documents."""

    def __init__(self, field, value, rule):
        super(BadAnswer, self).__init__('%s=%s %s' % (field, quoted(value), rule))
        self.field, self.value, self.rule = field, value, rule


def quoted(value, limit=80):
    """The value JSON-quoted and cut short: a message never carries a provider's whole answer."""
    return shorten(value, limit)


# Names Ansible gives a meaning of its own: a pod or droplet named so would take over the controller's plays.
RESERVED = ('localhost', 'all', 'ungrouped')


def host_name(value, field='name'):
    if not isinstance(value, str) or not HOST_NAME.match(value):
        raise BadAnswer(field, value, 'must be 1 to 63 letters, digits, . _ or -, starting with a letter or digit '
                                      '(it becomes the inventory host name)')
    lower = value.lower()
    if lower in RESERVED or lower.startswith(('localhost', 'ip6-')):
        raise BadAnswer(field, value, 'is a name Ansible reserves (%s): it would take over the controller\'s own plays' % ', '.join(RESERVED))
    if ADDRESS_LIKE.match(value):
        raise BadAnswer(field, value, 'reads as an address: a host name must hold a letter')
    return value


def new_host_name(value, inventory, field='name'):
    """host_name, and not a host or group the inventory already has (from another source, or another item)."""
    host_name(value, field)
    if value in inventory.hosts or value in inventory.groups:
        raise BadAnswer(field, value, 'is already a host or group of the inventory: a second source may not take it over')
    return value


def token(value, field, optional=False):
    if value in (None, '') and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not TOKEN.match(str(value)):
        raise BadAnswer(field, value, 'must be an id or slug: letters, digits, . _ : or -')
    return value


def address(value, field, optional=False):
    """An address a host can be reached at: an IP address, not unspecified (0.0.0.0), link-local (169.254.x.x: the cloud's
    metadata service), multicast or reserved, nor an IPv4 address written as IPv6."""
    if value in (None, '') and optional:
        return None
    if not isinstance(value, str) or not is_ip(value):
        raise BadAnswer(field, value, 'must be an IPv4 or IPv6 address')
    ip = ipaddress.ip_address(value)
    if ip.is_unspecified or ip.is_link_local or ip.is_multicast or ip.is_reserved or getattr(ip, 'ipv4_mapped', None):
        raise BadAnswer(field, value, 'is not an address a host is reached at (unspecified, link-local, multicast, reserved or '
                                      'IPv4-mapped)')
    return value


def is_header_safe(text):
    """A token that can go into an HTTP header as it is: printable, no whitespace (a newline would end up in an error)."""
    return isinstance(text, str) and bool(text) and not re.search(r'[\s\x00-\x1f\x7f]', text)


def port(value, field, optional=False):
    if value is None and optional:
        return None
    number = port_number(value)
    if number is None:
        raise BadAnswer(field, value, 'must be a port: a whole number from 1 to 65535')
    return number


def count(value, field, most=1024):
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= most:
        raise BadAnswer(field, value, 'must be a whole number from 0 to %d' % most)
    return value


def number(value, field, optional=True):
    """A number of 0 or more; a numeric string (RunPod sends prices as "0.74") is read as one."""
    if value in (None, '') and optional:
        return None
    try:
        parsed = float(value) if isinstance(value, str) and len(value) < 32 else value
    except ValueError:
        parsed = None
    if isinstance(parsed, bool) or not isinstance(parsed, (int, float)) or parsed < 0 or math.isnan(parsed) or math.isinf(parsed):
        raise BadAnswer(field, value, 'must be a number of 0 or more')
    return parsed


def text(value, field, optional=True, limit=512):
    if value is None and optional:
        return None
    if not isinstance(value, str) or len(value) > limit or CONTROL.search(value):
        raise BadAnswer(field, value, 'must be text of at most %d characters without control characters' % limit)
    return value


def mapping(value, field, optional=True):
    if value is None and optional:
        return {}
    if not isinstance(value, dict):
        raise BadAnswer(field, value, 'must be an object')
    return value


def items(value, field, optional=True):
    if value is None and optional:
        return []
    if not isinstance(value, list):
        raise BadAnswer(field, value, 'must be a list')
    return value


def item_label(item, id_key='id', name_key='name'):
    """How a warning names an item: its id and name as far as they are readable."""
    if not isinstance(item, dict):
        return 'an item that is not an object (%s)' % quoted(item, 40)
    parts = [quoted(item.get(key), 40) for key in (id_key, name_key) if item.get(key) not in (None, '')]
    return ' '.join(parts) or 'an item without id or name'


def droplet(record):
    """A droplet of DigitalOcean's GET /v2/droplets, checked: BadAnswer for the first field that is not as the API
    documents it (the fields the fleet inventory reads: id, name, status, networks, region, size_slug, tags)."""
    if not isinstance(record, dict):
        raise BadAnswer('droplet', record, 'must be an object')
    token(record.get('id'), 'id')
    host_name(record.get('name'))
    token(record.get('status'), 'status', optional=True)
    token(record.get('size_slug'), 'size_slug', optional=True)
    region = mapping(record.get('region'), 'region')
    token(region.get('slug'), 'region.slug', optional=True)
    for index, tag in enumerate(items(record.get('tags'), 'tags')):
        token(tag, 'tags[%d]' % index)
    token(record.get('vpc_uuid'), 'vpc_uuid', optional=True)
    networks = mapping(record.get('networks'), 'networks')
    for family in ('v4', 'v6'):
        for index, net in enumerate(items(networks.get(family), 'networks.%s' % family)):
            where = 'networks.%s[%d]' % (family, index)
            mapping(net, where, optional=False)
            address(net.get('ip_address'), where + '.ip_address')
            token(net.get('type'), where + '.type')
    return record
