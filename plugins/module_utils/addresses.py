# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Host names, IP addresses and ports as configuration files get them (HAProxy's server lines, say): the
rules that keep a value from an inventory, a pod's port mapping or host vars to one token, so that it cannot
add a line or an option to what it is written into. Standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import json
import re

TEXT = str

# One DNS label (RFC 1123): letters, digits and hyphens, not starting or ending with a hyphen, 63 at most.
_LABEL = re.compile(r'^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z')
# An inventory host name usable as a token of a configuration line (HAProxy's server name, say).
_INVENTORY_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]{0,252}\Z')
_IPV4 = re.compile(r'^[0-9.]+\Z')
_IPV6 = re.compile(r'^[0-9A-Fa-f:.]+\Z')

HOST_NAME_RULE = 'an IP address or a DNS host name (letters, digits, hyphens and dots, 253 characters at most)'
INVENTORY_NAME_RULE = ('an inventory host name of letters, digits, ".", "_" and "-", starting with a letter or a '
                       'digit, 253 characters at most')
PORT_RULE = 'a port from 1 to 65535'


def is_ip(value):
    """True for an IPv4 or IPv6 address as text (no zone index such as %eth0, no brackets, no prefix length)."""
    if not isinstance(value, TEXT) or not (_IPV4.match(value) or (':' in value and _IPV6.match(value))):
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def is_host_name(value):
    """True for a DNS host name: RFC 1123 labels joined by dots, 253 characters at most; the last label is not
    all digits (so 127.0.0.300 is neither a host name nor an address). An IP address is not a host name."""
    if not isinstance(value, TEXT) or not value or len(value) > 253:
        return False
    labels = value.split('.')
    return all(_LABEL.match(label) for label in labels) and not labels[-1].isdigit()


def is_address(value):
    """True for an IP address or a DNS host name."""
    return is_ip(value) or is_host_name(value)


def is_inventory_name(value):
    """True for an inventory host name that is one token: letters, digits, '.', '_', '-', starting with a letter
    or a digit, 253 characters at most."""
    return isinstance(value, TEXT) and bool(_INVENTORY_NAME.match(value))


def port_number(value):
    """The port as an int (1 to 65535) from an int or a string of digits ("8000"); None for anything else: a
    boolean, a float, 0, 70000, "8000\\n", " 8000", "80 80", "+80"."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, TEXT) and re.match(r'^[0-9]{1,5}\Z', value):
        number = int(value)
    else:
        return None
    return number if 1 <= number <= 65535 else None


def shorten(value, limit=80):
    """The value JSON-quoted for a message (a newline shows as \\n), cut short: a string to its first ``limit``
    characters before quoting, anything else to ``limit`` characters of its JSON text; '...' marks a cut."""
    if isinstance(value, TEXT):
        if len(value) > limit:
            return json.dumps(value[:limit]) + '...'
        return json.dumps(value)
    try:
        text = json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[:limit] + '...'
