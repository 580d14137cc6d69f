# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: digitalocean
short_description: DigitalOcean droplets as an inventory, each droplet checked before it makes a host
version_added: 0.3.0
description:
  - community.digitalocean's C(digitalocean) inventory plugin, with the same options (attributes, C(var_prefix),
    C(filters), C(compose), C(groups), C(keyed_groups), the cache), that treats DigitalOcean's answer as input.
  - Each droplet is checked before it makes a host - its name by the rule M(inferops.gpu_inference.runpod_pod) applies
    (1 to 63 letters, digits, C(.), C(_) or C(-), starting with a letter or digit; it becomes the host name), every
    address of C(networks) as an IP address, ids, slugs, statuses and tags as tokens, each item an object. A droplet
    that fails is left out with one warning naming it, the field and the value (cut short); the others still make hosts.
  - Answers are read with Ansible's own HTTP client (proxy settings honoured) and a size limit (8 MiB a page);
    pages are followed only on the API's own host and port (a C(links.pages.next) elsewhere would be sent the token),
    at most 1000 of them; errors name the API's URL.
  - The configuration file's name must end with C(digitalocean.yml) (or C(.yaml), C(do_hosts.yml), C(digital_ocean.yml)).
author:
  - inferops engineers (@inferops)
requirements:
  - community.digitalocean (its inventory plugin is the base of this one)
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  baseurl:
    description: DigitalOcean API base URL.
    type: str
    default: https://api.digitalocean.com/v2
  oauth_token:
    description: DigitalOcean API token (a template, such as a lookup of C(DO_API_TOKEN), is allowed).
    type: str
    aliases: [api_token]
  timeout:
    description: Seconds per API request.
    type: int
    default: 30
  validate_certs:
    description: Check the API's TLS certificate.
    type: bool
    default: true
  plugin:
    description: The name of this plugin.
    type: str
    required: true
    choices: [inferops.gpu_inference.digitalocean]
  attributes:
    description: Droplet attributes kept as host variables (with O(var_prefix)).
    type: list
    elements: str
    default: [id, name, networks, region, size_slug]
  var_prefix:
    description: Prefix of the host variables made from O(attributes).
    type: str
    default: do_
  pagination:
    description: Droplets per page of the API's answer (DigitalOcean allows at most 200).
    type: int
    default: 200
  filters:
    description: Jinja conditions a droplet must meet to become a host; all droplets when empty.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
# inventories/fleet/digitalocean.yml
plugin: inferops.gpu_inference.digitalocean
oauth_token: "{{ lookup('ansible.builtin.env', 'DO_API_TOKEN') }}"
attributes: [id, name, networks, region, size_slug, tags, status]
filters:
  - '"gpu" in do_tags'
compose:
  ansible_host: do_networks.v4 | selectattr('type', 'equalto', 'public') | map(attribute='ip_address') | first
"""

import json

from ansible.errors import AnsibleParserError
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves.urllib.parse import urlsplit
from ansible.module_utils.urls import Request
from ansible.utils.unsafe_proxy import wrap_var

try:
    from ansible_collections.community.digitalocean.plugins.inventory.digitalocean import InventoryModule as DigitalOceanInventory
except ImportError:  # a dependency of the collection (galaxy.yml); without it this plugin says what is missing
    from ansible.plugins.inventory import BaseInventoryPlugin

    class DigitalOceanInventory(BaseInventoryPlugin):
        def parse(self, inventory, loader, path, cache=True):
            raise AnsibleParserError('inferops.gpu_inference.digitalocean needs the community.digitalocean collection '
                                     '(ansible-galaxy collection install community.digitalocean)')
from ansible_collections.inferops.gpu_inference.plugins.module_utils import http_util
from ansible_collections.inferops.gpu_inference.plugins.module_utils import provider_answers as answers

MAX_PAGES = 1000


class InventoryModule(DigitalOceanInventory):
    NAME = 'inferops.gpu_inference.digitalocean'

    def _origin(self, url):
        parts = urlsplit(url)
        return parts.scheme, parts.hostname, parts.port

    def _get(self, source, url, headers):
        """(status, text) of one page, read with Ansible's own client (proxy settings honoured) and a size limit."""
        # No redirect is followed: the token would go with it, to wherever the answer points.
        request = Request(headers=headers, timeout=self.get_option('timeout'), validate_certs=self.get_option('validate_certs'),
                          follow_redirects='none')
        try:
            response = request.get(url)
            status = response.getcode()
        except HTTPError as exc:
            response, status = exc, exc.code
        except (URLError, ValueError) + http_util.ERRORS as exc:
            raise AnsibleParserError('%s: GET %s: %s' % (source, urlsplit(url).path, str(exc)[:300]))
        if 300 <= status < 400:
            raise AnsibleParserError('%s: HTTP %d: a redirect, not followed (the token would be sent with it)' % (source, status))
        try:
            data = response.read(http_util.MAX_BODY + 1)
        except http_util.ERRORS as exc:
            raise AnsibleParserError('%s: GET %s: %s' % (source, urlsplit(url).path, exc))
        if len(data) > http_util.MAX_BODY:
            raise AnsibleParserError('%s: the answer of %s is longer than %d bytes: refused' % (
                source, urlsplit(url).hostname, http_util.MAX_BODY))
        return status, data.decode('utf-8', 'replace')

    def _get_payload(self):
        base = (self.get_option('baseurl') or 'https://api.digitalocean.com/v2').rstrip('/')
        source = self._source()
        token = self._template_option('oauth_token')
        if not token:
            raise AnsibleParserError('%s: no token: set DO_API_TOKEN (or oauth_token)' % source)
        if not answers.is_header_safe(token):
            raise AnsibleParserError('%s: the token holds whitespace or control characters (a newline from a file?): fix '
                                     'DO_API_TOKEN (or oauth_token)' % source)
        headers = {'Authorization': 'Bearer %s' % token, 'Accept': 'application/json'}
        url = '%s/droplets?per_page=%d' % (base, self.get_option('pagination'))
        origin, payload, seen = self._origin(base), [], set()
        for dummy in range(MAX_PAGES):
            seen.add(url)
            self.display.vvv('%s: GET %s' % (source, url))
            status, text = self._get(source, url, headers)
            try:
                page = json.loads(text)
            except ValueError:
                page = None
            if status >= 400:
                message = page.get('message') if isinstance(page, dict) else text
                raise AnsibleParserError('%s: HTTP %d: %s' % (source, status, answers.quoted(message, 300)))
            if not isinstance(page, dict) or not isinstance(page.get('droplets'), list):
                raise AnsibleParserError('%s: the answer is not {"droplets": [...]}: %s' % (source, answers.quoted(page if page is not None else text)))
            payload.extend(page['droplets'])
            links = page.get('links') if isinstance(page.get('links'), dict) else {}
            pages = links.get('pages') if isinstance(links.get('pages'), dict) else {}
            url = pages.get('next')
            if not url:
                return payload
            if not isinstance(url, str) or self._origin(url) != origin or urlsplit(url).username:
                raise AnsibleParserError('%s: links.pages.next=%s is not on the API\'s own host and port: not followed (it would '
                                         'be sent the token)' % (source, answers.quoted(url)))
            if url in seen:
                raise AnsibleParserError('%s: links.pages.next=%s repeats: the pages would never end' % (source, answers.quoted(url)))
        raise AnsibleParserError('%s: more than %d pages: refused' % (source, MAX_PAGES))

    def _source(self):
        """How messages name the API: its URL without any user:password part."""
        parts = urlsplit(self.get_option('baseurl') or 'https://api.digitalocean.com/v2')
        return 'DigitalOcean inventory (%s://%s%s%s)' % (parts.scheme, parts.hostname, ':%d' % parts.port if parts.port else '', parts.path)

    def _populate(self, records):
        source, names, hosts_made = self._source(), set(), {}
        for index, record in enumerate(records):
            made = False  # from the point where a host of this name, if any, can only be this droplet's
            try:
                answers.droplet(record)
                if record['name'] in names:
                    raise answers.BadAnswer('name', record['name'], 'is used by an earlier droplet of the answer: the second may not take it over')
                answers.new_host_name(record['name'], self.inventory)
                names.add(record['name'])
                made = True
                # One droplet at a time, so that one that cannot be a host (its name clashes with a group made for another)
                # leaves only itself out. Values from the API are data, never templates (2.18 does not mark them so itself).
                try:
                    super(InventoryModule, self)._populate([wrap_var(record)])
                except Exception as exc:  # one droplet may not fail the source: a name that is also a group made for it, say
                    raise answers.BadAnswer('name', record['name'], 'cannot be a host of this inventory: %s' % str(exc)[:200])
                host = self.inventory.hosts.get(record['name'])
                if host is not None and not host.vars.get('ansible_host'):
                    raise answers.BadAnswer('networks', record.get('networks'),
                                            'holds no address for ansible_host (SSH would look the name up instead)')
                hosts_made[record['name']] = (index, record)
            except answers.BadAnswer as exc:
                if made and record['name'] in self.inventory.hosts:
                    self.inventory.remove_host(self.inventory.hosts[record['name']])
                self.display.warning('%s: droplet %d, %s, left out: %s' % (source, index, answers.item_label(record), exc))
        # A droplet listed before the droplet whose keyed group takes its name (size_..., say) passed new_host_name then.
        for name, (index, record) in hosts_made.items():
            if name in self.inventory.groups and name in self.inventory.hosts:
                self.inventory.remove_host(self.inventory.hosts[name])
                self.display.warning('%s: droplet %d, %s, left out: %s' % (source, index, answers.item_label(record), answers.BadAnswer(
                    'name', name, 'is also the name of a group of this inventory')))
