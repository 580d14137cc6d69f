# -*- coding: utf-8 -*-
# Copyright: inferops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rules across the settings of the role droplet (its argument spec checks types and choices).

``problems(settings, context, entry_point)`` returns one message per broken rule, naming the variable, its value and
what is allowed; the role gets them from the lookup ``inferops.gpu_inference.role_problems`` once, before any API
call, and fails listing all of them. The token is only said to be missing, never shown.

Rules: a token; droplet_list items dictionaries with known keys, each with a name, the names unique; with
droplet_state present, each name a host name, each region a region slug, each image a slug, each size a GPU size
(unless droplet_allow_any_size); tags, the SSH port and user, the timeouts and the inventory group as DigitalOcean
and Ansible take them.
"""
from __future__ import annotations

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils.rule_values import (
    as_bool, as_int, fullmatch, items_of, not_lists, to_json, unique)

SETTINGS = {
    'main': ('droplet_state', 'droplet_list', 'droplet_gpu_sizes', 'droplet_allow_any_size', 'droplet_default_image',
             'droplet_default_region', 'droplet_default_tags', 'droplet_api_token', 'droplet_wait_timeout',
             'droplet_ssh_port', 'droplet_ssh_timeout', 'droplet_ssh_user', 'droplet_group'),
}
OPTIONAL = ()
# The keys of a droplet_list item (tasks/create.yml passes each to digital_ocean_droplet).
ITEM_KEYS = ('name', 'size', 'region', 'image', 'ssh_keys', 'tags', 'monitoring', 'vpc_uuid')
# A droplet's name is its host name: 1 to 63 letters, digits, . or -, starting and ending with a letter or digit.
NAME = r'[A-Za-z0-9]([A-Za-z0-9.-]{0,61}[A-Za-z0-9])?'
REGION = r'[a-z]{3}[0-9]'
IMAGE = r'[a-z0-9][a-z0-9.-]*'
TAG = r'[A-Za-z0-9:_-]{1,255}'
SSH_USER = r'[a-z_][a-z0-9_-]{0,31}'
GROUP = r'[A-Za-z_][A-Za-z0-9_]*'


def _flat(values):
    """Tags as Ansible's flatten reads them: nested lists opened, nulls left out."""
    out = []
    for value in values:
        if value in (None, 'None', 'null'):
            continue
        out.extend(_flat(value) if isinstance(value, (list, tuple)) else [value])
    return out


def problems(settings, context=None, entry_point='main'):
    """The rules across settings (``context`` and ``entry_point`` unused: the role has one entry point and reads no
    inventory)."""
    s = settings
    out = [] if s['droplet_api_token'] else ['no DigitalOcean token: set DO_API_TOKEN or DIGITALOCEAN_TOKEN in the environment']
    out += not_lists(s, ('droplet_default_tags', 'droplet_gpu_sizes'))
    listed = items_of(s['droplet_list'])
    items = [item for item in listed if isinstance(item, dict)]
    present = s['droplet_state'] == 'present'
    if len(items) != len(listed):
        out.append('every droplet_list item must be a dictionary')
    unknown = unique(str(key) for item in items for key in item if key not in ITEM_KEYS)
    if unknown:
        out.append('droplet_list has unknown key(s) %s; allowed: %s' % (', '.join(unknown), ', '.join(ITEM_KEYS)))
    names = [str(item.get('name', '')) for item in items]
    bad_names = [n for n in names if not fullmatch(NAME, n)]
    if present and bad_names:
        out.append('droplet_list name(s) %s must be host names: 1 to 63 letters, digits, . or -, starting and ending with '
                   'a letter or digit' % ', '.join(to_json(n) for n in bad_names))
    regions = unique(str(item.get('region', s['droplet_default_region'])) for item in items)
    bad_regions = [r for r in regions if not fullmatch(REGION, r)]
    if present and bad_regions:
        out.append('droplet_list region(s) %s must be region slugs such as tor1, nyc2, ams3, atl1'
                   % ', '.join(to_json(r) for r in bad_regions))
    bad_images = [i for i in (str(item.get('image', s['droplet_default_image'])) for item in items) if not fullmatch(IMAGE, i)]
    if present and bad_images:
        out.append('droplet_list image(s) must be image slugs or ids such as gpu-h100x1-base, got %s'
                   % ', '.join(to_json(i) for i in bad_images))
    tags = unique(str(t) for t in _flat(items_of(s['droplet_default_tags']) + [item.get('tags', []) for item in items]))
    bad_tags = [t for t in tags if not fullmatch(TAG, t)]
    if bad_tags:
        out.append('droplet tags %s must be letters, digits, : _ or -' % ', '.join(to_json(t) for t in bad_tags))
    if not 1 <= as_int(s['droplet_ssh_port']) <= 65535:
        out.append('droplet_ssh_port=%s must be a port from 1 to 65535' % s['droplet_ssh_port'])
    if not fullmatch(SSH_USER, s['droplet_ssh_user']):
        out.append('droplet_ssh_user=%s must be a user name (lower-case letters, digits, _ and -)' % to_json(s['droplet_ssh_user']))
    if as_int(s['droplet_wait_timeout']) < 1 or as_int(s['droplet_ssh_timeout']) < 1:
        out.append('droplet_wait_timeout=%s and droplet_ssh_timeout=%s must be 1 or more seconds'
                   % (s['droplet_wait_timeout'], s['droplet_ssh_timeout']))
    if not fullmatch(GROUP, s['droplet_group']):
        out.append('droplet_group=%s must be a group name (letters, digits and _)' % to_json(s['droplet_group']))
    if '' in names:
        out.append('every droplet_list item needs a name')
    if len(unique(names)) != len(names):
        out.append('droplet_list names must be unique: ' + ', '.join(names))
    sizes = items_of(s['droplet_gpu_sizes'])
    bad_sizes = [str(item.get('size', '(none)')) for item in items if item.get('size', '(none)') not in sizes]
    if present and not as_bool(s['droplet_allow_any_size']) and bad_sizes:
        out.append('droplet_list size=%s is not a GPU size slug; allowed: %s (or droplet_allow_any_size: true)'
                   % (', '.join(bad_sizes), ', '.join(str(z) for z in sizes)))
    return out
