"""Every task of every role, playbook and Molecule scenario passes only options its module accepts,
and every role variable set from outside a role is one the role declares.

Why a test of its own: ansible-lint's ``args`` rule is in no profile (``--profile production``
unloads it), it is tagged ``experimental`` (a warning only), and it skips modules backed by an
action plugin (``gpu_host_check``, ``vllm_wait``, the report actions). A role passed
``nvidia_smi:`` to ``nvidia_smi_info`` (whose option is ``executable``) and nothing failed until a
GPU host ran it. Here each of the collection's modules gives its real argument spec (the
``AnsibleModule`` or ``validate_argument_spec`` call, caught as it is made); other modules give the
options their documentation lists (``ansible-doc --json``).
"""
import glob
import importlib
import json
import os
import re
import subprocess
import sys
from unittest import mock

import pytest
from ansible.module_utils import basic
from ansible.parsing.yaml.loader import AnsibleLoader
from ansible.playbook.block import Block
from ansible.playbook.task import Task
from ansible.plugins.action import ActionBase

from unit_support import ROOT

COLLECTION = 'inferops.gpu_inference.'
# Modules whose options are free: keys become facts or host variables, or the arguments are a command line.
FREE_FORM = {'set_fact', 'set_stats', 'add_host', 'group_by', 'include_vars', 'raw', 'script', 'meta'}
TASK_KEYWORDS = set(Task.fattributes) | set(Block.fattributes) | {
    'local_action', 'action', 'args', 'block', 'rescue', 'always', 'notify', 'listen', 'vars'}
PLAY_TASK_LISTS = ('pre_tasks', 'tasks', 'post_tasks', 'handlers')
ROLES = sorted(os.path.basename(p) for p in glob.glob(os.path.join(ROOT, 'roles', '*')) if os.path.isdir(p))


def load_yaml(path):
    with open(path) as handle:
        return AnsibleLoader(handle.read()).get_single_data()


def task_files():
    """Files of tasks or plays: the roles', the playbooks', Molecule's and the integration tests'."""
    patterns = ['roles/*/tasks/*.yml', 'roles/*/handlers/*.yml', 'playbooks/*.yml', 'molecule/*/*.yml',
                'molecule/*/tasks/*.yml', 'tests/integration/*.yml']
    for pattern in patterns:
        for path in sorted(glob.glob(os.path.join(ROOT, pattern))):
            if os.path.basename(path) != 'molecule.yml':
                yield os.path.relpath(path, ROOT)


def tasks_in(items):
    """Each task (dict) in a list of plays, blocks and tasks, with the blocks opened."""
    for item in items or []:
        if not isinstance(item, dict):
            continue
        if 'hosts' in item or 'import_playbook' in item:
            for key in PLAY_TASK_LISTS:
                yield from tasks_in(item.get(key))
            continue
        if any(k in item for k in ('block', 'rescue', 'always')):
            for key in ('block', 'rescue', 'always'):
                yield from tasks_in(item.get(key))
            continue
        yield item


def module_of(task):
    names = [k for k in task if k not in TASK_KEYWORDS and not k.startswith('with_')]
    return names[0] if len(names) == 1 else None


def options_given(task, module):
    given = task[module]
    options = dict(given) if isinstance(given, dict) else None
    if isinstance(task.get('args'), dict):
        options = dict(options or {}, **task['args'])
    return options


def all_tasks():
    found = []
    for rel in task_files():
        for task in tasks_in(load_yaml(os.path.join(ROOT, rel)) or []):
            module = module_of(task)
            if module:
                found.append((rel, task.get('name', '?'), module, options_given(task, module)))
    return found


class _Spec(Exception):
    def __init__(self, spec):
        super().__init__('argument spec')
        self.spec = spec


def _names(spec):
    names = set()
    for key, value in spec.items():
        names.add(key)
        names.update(value.get('aliases', []))
    return names


def collection_spec(short):
    """The argument spec the collection's module (or its action plugin) really validates against."""
    action = os.path.join(ROOT, 'plugins', 'action', short + '.py')
    if os.path.exists(action):
        mod = importlib.import_module('ansible_collections.inferops.gpu_inference.plugins.action.' + short)

        def validate(self, argument_spec=None, **kwargs):
            raise _Spec(argument_spec)
        plugin = mod.ActionModule(mock.MagicMock(), mock.MagicMock(), mock.MagicMock(), None, None, None)
        with mock.patch.object(ActionBase, 'run', return_value={}), \
                mock.patch.object(ActionBase, 'validate_argument_spec', validate):
            with pytest.raises(_Spec) as caught:
                plugin.run(task_vars={})
        return _names(caught.value.spec)
    mod = importlib.import_module('ansible_collections.inferops.gpu_inference.plugins.modules.' + short)

    def init(self, argument_spec=None, **kwargs):
        raise _Spec(argument_spec)
    with mock.patch.object(basic.AnsibleModule, '__init__', init):
        with pytest.raises(_Spec) as caught:
            mod.main()
    return _names(caught.value.spec)


def documented_options(modules):
    """Options of other modules, from their documentation (one ansible-doc run)."""
    if not modules:
        return {}
    out = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-doc'), '--json', '-t', 'module']
                         + sorted(modules), capture_output=True, text=True, check=True, cwd=ROOT).stdout
    docs = json.loads(out)
    options = {}
    for name, entry in docs.items():
        opts = (entry.get('doc') or {}).get('options') or {}
        names = set(opts)
        for opt in opts.values():
            names.update(opt.get('aliases') or [])
        options[name] = names
    return options


TASKS = all_tasks()


def _fqcn(module):
    return module if '.' in module else 'ansible.builtin.' + module


def test_the_walk_finds_the_tasks():
    # The walk itself must see the task this test was written for, or the test checks nothing.
    assert len(TASKS) > 150
    assert any(task[2] == COLLECTION + 'nvidia_smi_info' for task in TASKS)


def test_every_task_passes_only_options_its_module_accepts():
    specs = {}
    others = {_fqcn(task[2]) for task in TASKS if not task[2].startswith(COLLECTION) and task[3] is not None
              and _fqcn(task[2]).split('.')[-1] not in FREE_FORM}
    docs = documented_options(others)
    problems = []
    for rel, name, module, opts in TASKS:
        fqcn = _fqcn(module)
        if opts is None or fqcn.split('.')[-1] in FREE_FORM:
            continue
        if fqcn.startswith(COLLECTION):
            short = fqcn[len(COLLECTION):]
            if short not in specs:
                specs[short] = collection_spec(short)
            accepted = specs[short]
        else:
            assert fqcn in docs, '%s: %s names module %s, which ansible-doc does not know' % (rel, name, fqcn)
            accepted = docs[fqcn]
        unknown = sorted(set(opts) - accepted - {'_raw_params'})
        if unknown:
            problems.append('%s: task "%s" passes %s to %s, which accepts %s'
                            % (rel, name, ', '.join(unknown), fqcn, ', '.join(sorted(accepted))))
    assert not problems, '\n'.join(problems)


def test_the_check_catches_the_bug_it_was_written_for():
    accepted = collection_spec('nvidia_smi_info')
    assert 'executable' in accepted and 'nvidia_smi' not in accepted
    assert collection_spec('gpu_host_check') == set()  # an action plugin's own spec: it takes no arguments
    assert 'served_model_name' in collection_spec('vllm_wait')


# Role variables set from outside the roles: play vars, include_role/import_role vars, task vars
# in playbooks and Molecule, inventories and Molecule's inventories.
def role_inputs():
    inputs = {}
    for role in ROLES:
        spec = load_yaml(os.path.join(ROOT, 'roles', role, 'meta', 'argument_specs.yml'))
        # Every entry point's options (tasks_from: member, capacity... declare their own).
        inputs[role] = set(name for entry in spec['argument_specs'].values() for name in entry.get('options') or {})
    return inputs


def _vars_of(node, where, out):
    """Variable names set in a parsed YAML tree (plays, tasks, inventories), with where they are set."""
    if isinstance(node, list):
        for item in node:
            _vars_of(item, where, out)
    elif isinstance(node, dict):
        for key in ('vars', 'group_vars', 'host_vars'):
            value = node.get(key)
            if isinstance(value, dict):
                targets = value.values() if key != 'vars' else [value]
                for block in targets:
                    if isinstance(block, dict):
                        for name in block:
                            out.setdefault(name, set()).add(where)
        hosts = node.get('hosts')
        if isinstance(hosts, dict):
            for host_vars in hosts.values():
                if isinstance(host_vars, dict):
                    for name in host_vars:
                        out.setdefault(name, set()).add(where)
        for key, value in node.items():
            if key not in ('vars',) and isinstance(value, (dict, list)):
                _vars_of(value, where, out)


def variables_set_outside_roles():
    found = {}
    paths = [p for p in task_files() if not p.startswith('roles/')]
    paths += [os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, 'molecule', '*', 'molecule.yml'))]
    paths += [os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, 'inventories', '**', '*.yml'), recursive=True)]
    for rel in paths:
        _vars_of(load_yaml(os.path.join(ROOT, rel)), rel, found)
        if '/group_vars/' in rel or '/host_vars/' in rel:
            for name in load_yaml(os.path.join(ROOT, rel)) or {}:
                found.setdefault(name, set()).add(rel)
    # Host variables given to new hosts (add_host in provision.yml and role droplet): the same
    # names the inventory plugins give, so they must be read by something too.
    for rel in task_files():
        if rel.startswith(('molecule/', 'tests/')):
            continue
        for task in tasks_in(load_yaml(os.path.join(ROOT, rel))):
            args = task.get('ansible.builtin.add_host') or task.get('add_host')
            if isinstance(args, dict):
                for name in args:
                    if name not in ('name', 'groups', 'hostname', 'host', 'group', 'groupname'):
                        found.setdefault(name, set()).add(rel + ' (add_host)')
    return found


def test_role_variables_set_outside_a_role_are_declared_by_it():
    inputs = role_inputs()
    problems = []
    for name, where in sorted(variables_set_outside_roles().items()):
        for role in sorted(ROLES, key=len, reverse=True):
            if name.startswith(role + '_'):
                if name not in inputs[role]:
                    problems.append('%s is set in %s, but role %s does not declare it in meta/argument_specs.yml '
                                    '(nothing reads it, or the role\'s own vars override it)'
                                    % (name, ', '.join(sorted(where)), role))
                break
    assert not problems, '\n'.join(problems)


def test_other_variables_set_outside_a_role_are_read_somewhere():
    texts = {}
    for pattern in ('roles/**/*', 'playbooks/**/*', 'plugins/**/*.py', 'inventories/**/*', 'molecule/**/*',
                    'tests/**/*.yml', 'tests/**/*.py'):
        for path in glob.glob(os.path.join(ROOT, pattern), recursive=True):
            if os.path.isfile(path) and not path.endswith('.md'):
                with open(path, errors='replace') as handle:
                    texts[os.path.relpath(path, ROOT)] = handle.read()
    problems = []
    for name, where in sorted(variables_set_outside_roles().items()):
        if name.startswith(tuple(r + '_' for r in ROLES)) or name.startswith('ansible_') or name in (
                'plugin', 'compose', 'groups', 'keyed_groups', 'children', 'hosts'):
            continue
        word = re.compile(r'(?<![\w.])' + re.escape(name) + r'(?!\w)')
        readers = [rel for rel, text in texts.items() if word.search(text) and not _only_sets(text, name)]
        if not readers:
            problems.append('%s is set in %s and read nowhere' % (name, ', '.join(sorted(where))))
    assert not problems, '\n'.join(problems)


def _only_sets(text, name):
    """True when every mention of name in text is where it is set (a YAML key 'name:')."""
    mentions = re.findall(r'(?<![\w.])' + re.escape(name) + r'(?!\w)(\s*:(?!:))?', text)
    return all(m for m in mentions)
