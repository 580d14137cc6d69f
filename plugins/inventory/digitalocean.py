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
        request = Request(headers=headers, timeout=self.get_option('timeout'), validate_certs=self.get_option('validate_certs'))
        try:
            response = request.get(url)
            status = response.getcode()
        except HTTPError as exc:
            response, status = exc, exc.code
        except (URLError, http_util.ERRORS, ValueError) as exc:
            raise AnsibleParserError('%s: GET %s: %s' % (source, urlsplit(url).path, exc))
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
        source = 'DigitalOcean inventory (%s)' % base
        headers = {'Authorization': 'Bearer %s' % self._template_option('oauth_token'), 'Accept': 'application/json'}
        url = '%s/droplets?per_page=%d' % (base, self.get_option('pagination'))
        origin, payload = self._origin(base), []
        for dummy in range(MAX_PAGES):
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
            if not isinstance(url, str) or self._origin(url) != origin:
                raise AnsibleParserError('%s: links.pages.next=%s is not on the API\'s own host and port: not followed (it would '
                                         'be sent the token)' % (source, answers.quoted(url)))
        raise AnsibleParserError('%s: more than %d pages: refused' % (source, MAX_PAGES))

    def _populate(self, records):
        source = 'DigitalOcean inventory (%s)' % (self.get_option('baseurl') or 'https://api.digitalocean.com/v2')
        good, names = [], set()
        for index, record in enumerate(records):
            try:
                answers.droplet(record)
                answers.new_host_name(record['name'], self.inventory)
                if record['name'] in names:
                    raise answers.BadAnswer('name', record['name'], 'is used by an earlier droplet of the answer: the second may not take it over')
                names.add(record['name'])
                # Values from the API are data, never templates (ansible-core 2.18 does not mark them so itself).
                good.append(wrap_var(record))
            except answers.BadAnswer as exc:
                self.display.warning('%s: droplet %d, %s, left out: %s' % (source, index, answers.item_label(record), exc))
        super(InventoryModule, self)._populate(good)
