"""droplet_rules: the role droplet's rules across settings, each with a passing and a failing case; the messages name
the variable, the value and what is allowed (the integration battery, test_bad_input_providers.py, looks for the same
words), and never show the token."""
import os

import pytest
import yaml

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import droplet_rules as rules
from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import role_variables
from unit_support import ROOT

with open(os.path.join(ROOT, 'roles', 'droplet', 'defaults', 'main.yml')) as _handle:
    DEFAULTS = yaml.safe_load(_handle)
TOKEN = 'dop_v1_unit_test_token_0123456789'
DROPLET = {'name': 'gpu-a', 'size': 'gpu-h100x1-80gb', 'region': 'tor1'}


def settings(**changes):
    values = dict((name, DEFAULTS[name]) for name in rules.SETTINGS['main'])
    values.update(droplet_api_token=TOKEN, droplet_list=[dict(DROPLET)])
    values.update(changes)
    return values


def problems(**changes):
    found = rules.problems(settings(**changes))
    assert not [p for p in found if TOKEN in p], 'the token was shown'
    return found


def test_every_setting_the_rules_read_is_a_role_option():
    assert set(rules.SETTINGS['main']) <= role_variables.options('droplet')


def test_good_settings_have_no_problem():
    assert problems() == []
    assert problems(droplet_list=[]) == []
    full = dict(DROPLET, image='gpu-h100x1-base', ssh_keys=[123], tags=['team:ml', 'a_b'], monitoring=False, vpc_uuid='x')
    assert problems(droplet_list=[full, dict(DROPLET, name='gpu-b.example')]) == []


# (case, changes, the message) - each rule broken once; the passing side of each is the good settings above.
FAILING = [
    ('no-token', {'droplet_api_token': ''}, 'no DigitalOcean token: set DO_API_TOKEN or DIGITALOCEAN_TOKEN in the environment'),
    ('item-not-dict', {'droplet_list': ['gpu-a']}, 'every droplet_list item must be a dictionary'),
    ('unknown-key', {'droplet_list': [dict(DROPLET, regoin='tor1', sise=1)]},
     'droplet_list has unknown key(s) regoin, sise; allowed: name, size, region, image, ssh_keys, tags, monitoring, vpc_uuid'),
    ('name-underscore', {'droplet_list': [dict(DROPLET, name='gpu_a')]},
     'droplet_list name(s) "gpu_a" must be host names: 1 to 63 letters, digits, . or -, starting and ending with a letter or digit'),
    ('name-newline', {'droplet_list': [dict(DROPLET, name='gpu-a\n')]}, 'droplet_list name(s) "gpu-a\\n"'),
    ('region', {'droplet_list': [dict(DROPLET, region='toronto')]},
     'droplet_list region(s) "toronto" must be region slugs such as tor1, nyc2, ams3, atl1'),
    ('region-default', {'droplet_list': [{'name': 'gpu-a', 'size': 'gpu-h100x1-80gb'}], 'droplet_default_region': 'tor 1'},
     'droplet_list region(s) "tor 1"'),
    ('image', {'droplet_list': [dict(DROPLET, image='ubuntu 22')]},
     'droplet_list image(s) must be image slugs or ids such as gpu-h100x1-base, got "ubuntu 22"'),
    ('tag', {'droplet_list': [dict(DROPLET, tags=['my tag'])]}, 'droplet tags "my tag" must be letters, digits, : _ or -'),
    ('default-tag', {'droplet_default_tags': ['gpu', 'a;b']}, 'droplet tags "a;b"'),
    ('default-tags-a-string', {'droplet_default_tags': 'gpu,x'}, 'droplet_default_tags="gpu,x" must be a list'),
    ('ssh-port-zero', {'droplet_ssh_port': 0}, 'droplet_ssh_port=0 must be a port from 1 to 65535'),
    ('ssh-port-big', {'droplet_ssh_port': '70000'}, 'droplet_ssh_port=70000 must be a port from 1 to 65535'),
    ('ssh-user', {'droplet_ssh_user': 'root; touch x'},
     'droplet_ssh_user="root; touch x" must be a user name (lower-case letters, digits, _ and -)'),
    ('timeouts', {'droplet_ssh_timeout': 0},
     'droplet_wait_timeout=600 and droplet_ssh_timeout=0 must be 1 or more seconds'),
    ('group', {'droplet_group': 'gpu-nodes'}, 'droplet_group="gpu-nodes" must be a group name (letters, digits and _)'),
    ('name-missing', {'droplet_list': [{'size': 'gpu-h100x1-80gb'}]}, 'every droplet_list item needs a name'),
    ('names-twice', {'droplet_list': [DROPLET, DROPLET]}, 'droplet_list names must be unique: gpu-a, gpu-a'),
    ('size', {'droplet_list': [dict(DROPLET, size='gpu-h100-80gb'), {'name': 'b'}]},
     'droplet_list size=gpu-h100-80gb, (none) is not a GPU size slug; allowed: gpu-h100x1-80gb'),
]


@pytest.mark.parametrize('changes,message', [c[1:] for c in FAILING], ids=[c[0] for c in FAILING])
def test_each_rule_names_the_variable_the_value_and_what_is_allowed(changes, message):
    assert message in '; '.join(problems(**changes))


def test_any_size_is_taken_when_allowed_also_as_text():
    assert problems(droplet_list=[dict(DROPLET, size='s-1vcpu-1gb')], droplet_allow_any_size=True) == []
    assert problems(droplet_list=[dict(DROPLET, size='s-1vcpu-1gb')], droplet_allow_any_size='true') == []
    assert problems(droplet_list=[dict(DROPLET, size='s-1vcpu-1gb')], droplet_allow_any_size='false') != []


def test_destroying_checks_only_what_destroying_needs():
    """droplet_state absent: names, regions, images and sizes are not judged (a droplet made by hand is destroyed by
    whatever name it has); the token, the keys, a name for each and the names once each still are."""
    odd = [{'name': 'odd_name', 'size': 'x', 'region': 'far', 'image': 'Any Image'}]
    assert problems(droplet_state='absent', droplet_list=odd) == []
    assert problems(droplet_state='absent', droplet_list=[{'size': 'x'}]) == ['every droplet_list item needs a name']


def test_every_problem_is_listed_at_once():
    found = problems(droplet_api_token='', droplet_ssh_port=0, droplet_list=[dict(DROPLET, name='a_b', region='x')])
    assert len(found) == 4
