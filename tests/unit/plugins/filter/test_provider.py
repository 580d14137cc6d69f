"""plugins/filter/provider.py: droplet_answer_problems, role droplet's check of DigitalOcean's answer (data.droplet of
community.digitalocean's droplet module) before its address reaches wait_for and add_host.

A good droplet has no problem; a bad field gives one problem naming the field, the value cut short and what is allowed.
"""
import copy

import pytest

from ansible_collections.inferops.gpu_inference.plugins.filter.provider import FilterModule, droplet_answer_problems

# A GPU droplet as DigitalOcean's API answers for it (GET /v2/droplets/{id}), documentation addresses.
DROPLET = {
    'id': 500000001, 'name': 'gpu-a', 'memory': 245760, 'vcpus': 20, 'disk': 720, 'locked': False, 'status': 'active',
    'kernel': None, 'created_at': '2026-11-20T10:00:00Z', 'features': ['monitoring', 'private_networking'], 'backup_ids': [],
    'snapshot_ids': [], 'volume_ids': [], 'image': {'id': 160000001, 'slug': 'gpu-h100x1-base', 'distribution': 'Ubuntu'},
    'size': {'slug': 'gpu-h100x1-80gb', 'price_hourly': 3.39, 'vcpus': 20}, 'size_slug': 'gpu-h100x1-80gb',
    'networks': {'v4': [{'ip_address': '203.0.113.20', 'netmask': '255.255.240.0', 'gateway': '203.0.113.1', 'type': 'public'},
                        {'ip_address': '10.116.0.2', 'netmask': '255.255.240.0', 'gateway': '10.116.0.1', 'type': 'private'}],
                 'v6': [{'ip_address': '2001:db8::10', 'netmask': 64, 'gateway': '2001:db8::1', 'type': 'public'}]},
    'region': {'name': 'Toronto 1', 'slug': 'tor1', 'available': True}, 'tags': ['gpu', 'inferops'],
    'vpc_uuid': 'b9e3e2d4-5a1c-4d3e-9f8a-1c2b3d4e5f60',
}
INJECT = '-oProxyCommand=touch /tmp/pwned'


def droplet(**changes):
    out = copy.deepcopy(DROPLET)
    out.update(changes)
    return out


def v4(address, kind='public'):
    return {'v4': [{'ip_address': address, 'type': kind}], 'v6': []}


def test_a_good_droplet_has_no_problem_and_the_filter_is_registered():
    assert FilterModule().filters()['droplet_answer_problems'] is droplet_answer_problems
    assert droplet_answer_problems(DROPLET) == []


def test_a_droplet_still_being_made_has_no_problem():
    # Right after the create call: status new, no addresses yet, no tags or region object.
    assert droplet_answer_problems(droplet(status='new', networks={'v4': [], 'v6': []}, tags=None, region=None, vpc_uuid=None)) == []


@pytest.mark.parametrize('changes,problem', [
    ({'name': 'gpu a'}, 'name="gpu a" must be 1 to 63 letters, digits, . _ or -, starting with a letter or digit '
                        '(it becomes the inventory host name)'),
    ({'name': INJECT}, 'name="-oProxyCommand=touch /tmp/pwned" must be 1 to 63 letters'),
    ({'name': 'gpu-a\nlocalhost'}, 'name="gpu-a\\nlocalhost" must be 1 to 63 letters'),
    ({'name': 'localhost'}, 'name="localhost" is a name Ansible reserves (localhost, all, ungrouped): it would take over the '
                            'controller\'s own plays'),
    ({'name': 'all'}, 'name="all" is a name Ansible reserves'),
    ({'name': '127.1'}, 'name="127.1" reads as an address: a host name must hold a letter'),
    ({'name': None}, 'name=null must be 1 to 63 letters'),
    ({'id': '500000001; reboot'}, 'id="500000001; reboot" must be an id or slug: letters, digits, . _ : or -'),
    ({'id': True}, 'id=true must be an id or slug'),
    ({'status': 'active\n'}, 'status="active\\n" must be an id or slug'),
    ({'size_slug': 'gpu h100'}, 'size_slug="gpu h100" must be an id or slug'),
    ({'region': 'tor1'}, 'region="tor1" must be an object'),
    ({'region': {'slug': 'tor1;x'}}, 'region.slug="tor1;x" must be an id or slug'),
    ({'tags': 'gpu'}, 'tags="gpu" must be a list'),
    ({'tags': ['gpu', 'a b']}, 'tags[1]="a b" must be an id or slug'),
    ({'vpc_uuid': '../vpc'}, 'vpc_uuid="../vpc" must be an id or slug'),
    ({'networks': []}, 'networks=[] must be an object'),
    ({'networks': {'v4': '203.0.113.20'}}, 'networks.v4="203.0.113.20" must be a list'),
    ({'networks': {'v4': ['203.0.113.20']}}, 'networks.v4[0]="203.0.113.20" must be an object'),
    ({'networks': v4(INJECT)}, 'networks.v4[0].ip_address="-oProxyCommand=touch /tmp/pwned" must be an IPv4 or IPv6 address'),
    ({'networks': v4('gpu-a.example.com')}, 'networks.v4[0].ip_address="gpu-a.example.com" must be an IPv4 or IPv6 address'),
    ({'networks': v4('203.0.113.20\n')}, 'networks.v4[0].ip_address="203.0.113.20\\n" must be an IPv4 or IPv6 address'),
    ({'networks': v4(3405803786)}, 'networks.v4[0].ip_address=3405803786 must be an IPv4 or IPv6 address'),
    ({'networks': v4('169.254.169.254')}, 'networks.v4[0].ip_address="169.254.169.254" is not an address a host is reached at '
                                          '(unspecified, link-local, multicast, reserved or IPv4-mapped)'),
    ({'networks': v4('0.0.0.0')}, 'networks.v4[0].ip_address="0.0.0.0" is not an address a host is reached at'),
    ({'networks': v4('224.0.0.1')}, 'networks.v4[0].ip_address="224.0.0.1" is not an address a host is reached at'),
    ({'networks': v4('203.0.113.20', 'public ')}, 'networks.v4[0].type="public " must be an id or slug'),
    ({'networks': {'v4': [], 'v6': [{'ip_address': '::ffff:127.0.0.1', 'type': 'public'}]}},
     'networks.v6[0].ip_address="::ffff:127.0.0.1" is not an address a host is reached at'),
])
def test_a_bad_field_is_one_problem_naming_the_field_and_value(changes, problem):
    problems = droplet_answer_problems(droplet(**changes))
    assert len(problems) == 1 and problems[0].startswith(problem), problems


def test_the_second_address_is_checked_too():
    networks = copy.deepcopy(DROPLET['networks'])
    networks['v4'][1]['ip_address'] = '10.116.0.2 -oProxyCommand=x'
    assert droplet_answer_problems(droplet(networks=networks)) == [
        'networks.v4[1].ip_address="10.116.0.2 -oProxyCommand=x" must be an IPv4 or IPv6 address']


def test_only_the_first_bad_field_is_named():
    problems = droplet_answer_problems(droplet(name='a b', networks=v4(INJECT)))
    assert len(problems) == 1 and problems[0].startswith('name="a b"')


def test_a_long_value_is_cut_short():
    problems = droplet_answer_problems(droplet(name='n' * 100000))
    assert len(problems) == 1 and problems[0].startswith('name="%s"... must be' % ('n' * 80)) and len(problems[0]) < 300


@pytest.mark.parametrize('record,problem', [
    (None, 'droplet=null must be an object'),
    ('gpu-a', 'droplet="gpu-a" must be an object'),
    ([DROPLET], 'droplet=[{"backup_ids": []'),
])
def test_an_answer_that_is_not_a_droplet(record, problem):
    problems = droplet_answer_problems(record)
    assert len(problems) == 1 and problems[0].startswith(problem) and problems[0].endswith('must be an object')
    assert len(problems[0]) < 200
