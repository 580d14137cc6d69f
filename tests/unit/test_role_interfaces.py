"""Each role's public interface in one place: defaults/main.yml and meta/argument_specs.yml agree - every default is
declared, declared defaults equal the defaults file's values, and the types match; an option with no default is
required or named below with the reason; every name a role sets is an input, a declared output or private."""
import glob
import os
import re

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
ROLES = sorted(os.listdir(os.path.join(ROOT, 'roles')))
TYPES = {'str': str, 'path': str, 'int': int, 'bool': bool, 'list': list, 'dict': dict, 'float': (float, int)}
# Options read per node through hostvars, set in the inventory, never defaulted by the role.
PER_HOST = {'vllm_gateway_node_address', 'vllm_gateway_node_port'}


def interface(role):
    with open(os.path.join(ROOT, 'roles', role, 'defaults', 'main.yml')) as handle:
        # Names starting with _ are the role's own (computed in defaults so that inventories cannot
        # see them as settings): not part of the interface.
        defaults = dict((k, v) for k, v in (yaml.safe_load(handle) or {}).items() if not k.startswith('_'))
    with open(os.path.join(ROOT, 'roles', role, 'meta', 'argument_specs.yml')) as handle:
        specs = yaml.safe_load(handle)['argument_specs']
    return defaults, specs['main'].get('options', {}), specs


def templated(value):
    return isinstance(value, str) and '{{' in value


@pytest.mark.parametrize('role', ROLES)
def test_every_default_is_declared_with_its_value_and_type(role):
    defaults, options, dummy = interface(role)
    assert sorted(set(defaults) - set(options)) == [], 'defaults not in argument_specs main'
    for name, value in defaults.items():
        option = options[name]
        if 'default' in option and not templated(value):
            assert option['default'] == value, '%s: argument_specs default %r, defaults/main.yml %r' % (name, option['default'], value)
        if value is not None and not templated(value) and option.get('type') in TYPES:
            assert isinstance(value, TYPES[option['type']]), '%s: type %s, default %r' % (name, option['type'], value)


@pytest.mark.parametrize('role', ROLES)
def test_every_option_without_a_default_is_required_or_per_host(role):
    defaults, options, dummy = interface(role)
    loose = sorted(n for n, o in options.items() if n not in defaults and not o.get('required') and n not in PER_HOST)
    assert loose == [], 'options with no default that are not required'


def names_set(role):
    """Every variable the role sets: vars/main.yml, register and set_fact in its tasks."""
    names = set()
    path = os.path.join(ROOT, 'roles', role, 'vars', 'main.yml')
    if os.path.exists(path):
        with open(path) as handle:
            names.update(yaml.safe_load(handle) or {})

    def walk(tasks):
        for task in tasks or []:
            if 'register' in task:
                names.add(task['register'])
            names.update(name for name in (task.get('ansible.builtin.set_fact') or {}) if name != 'cacheable')
            for part in ('block', 'rescue', 'always'):
                walk(task.get(part))
    for path in glob.glob(os.path.join(ROOT, 'roles', role, 'tasks', '*.yml')):
        with open(path) as handle:
            walk(yaml.safe_load(handle))
    return names


def declared_outputs(role):
    """The names listed under the role README's '## Outputs'."""
    with open(os.path.join(ROOT, 'roles', role, 'README.md')) as handle:
        text = handle.read()
    section = text.split('\n## Outputs\n', 1)[1].split('\n## ', 1)[0]
    return set(re.findall(r'`(%s_\w+)`' % role, section))


@pytest.mark.parametrize('role', ROLES)
def test_every_name_a_role_sets_is_an_input_a_declared_output_or_private(role):
    inputs = set(interface(role)[0])
    public = sorted(n for n in names_set(role) - inputs if not n.startswith('_'))
    assert set(public) <= declared_outputs(role), (
        '%s sets %s: mark them private (_%s_*) or list them under "## Outputs" in its README'
        % (role, ', '.join(sorted(set(public) - declared_outputs(role))), role))


def test_vllm_bench_reads_only_the_server_inputs_its_readme_declares():
    with open(os.path.join(ROOT, 'roles', 'vllm_bench', 'README.md')) as handle:
        section = handle.read().split('\n## The server it measures\n', 1)[1].split('\n## ', 1)[0]
    declared = set(re.findall(r'`(vllm_server_\w+)`', section))
    read = set()
    for path in glob.glob(os.path.join(ROOT, 'roles', 'vllm_bench', '**', '*.yml'), recursive=True):
        with open(path) as handle:
            read.update(re.findall(r'\b(vllm_server_\w+)', handle.read()))
    assert read == declared, 'vllm_bench reads %s; its README declares %s' % (sorted(read), sorted(declared))
    assert declared <= set(interface('vllm_server')[1]), 'every name it reads is an input of vllm_server'
