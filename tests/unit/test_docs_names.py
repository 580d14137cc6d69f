"""What a user copies from the docs must exist: every name with a role's prefix that the README, the guide pages
(docs/guides/), the role READMEs, the playbooks and the shipped inventories mention is a setting of that role (its
argument spec), one of its outputs, or a file of the collection (a module, filter, plugin or scenario); every
playbook they name is shipped; every YAML block of a page parses. A setting renamed in the argument spec but left in
a guide page would be refused as a probable typo on the user's first run (plugin_utils/role_variables.py)."""
import glob
import os
import re

import pytest
import yaml

from ansible_collections.inferops.gpu_inference.plugins.action import gpu_host_check as gpu_host_check_action
from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import server_spec, vllm_bench_rules

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
ROLES = sorted(os.listdir(os.path.join(ROOT, 'roles')))
PAGES = ['README.md'] + sorted(glob.glob('docs/**/*.md', root_dir=ROOT, recursive=True)) + sorted(
    glob.glob('roles/*/README.md', root_dir=ROOT))
SHIPPED = sorted(glob.glob('playbooks/*.yml', root_dir=ROOT)) + sorted(glob.glob('inventories/**/*.yml', root_dir=ROOT, recursive=True))
NAME = re.compile(r'\b((?:%s)_[a-z0-9_]*[a-z0-9])\b' % '|'.join(sorted(ROLES, key=len, reverse=True)))
# The facts the roles set for the playbooks and users to read (their READMEs' "Outputs"), by role, from where each
# role's check of mistyped variables reads them.
with open(os.path.join(ROOT, 'roles', 'redeploy', 'vars', 'main.yml')) as _handle:
    _REDEPLOY_OUTPUTS = yaml.safe_load(_handle)['_redeploy_outputs']
OUTPUTS = {
    'gpu_host_check': set(gpu_host_check_action.OUTPUTS),
    'gpu_host_setup': {'gpu_host_setup_plan'},  # the filter's name, its plan a fact of the role's own (_gpu_host_setup_plan)
    'redeploy': set(_REDEPLOY_OUTPUTS),
    'vllm_bench': set(vllm_bench_rules.OUTPUTS),
    'vllm_server': set(server_spec.OUTPUTS) | {'vllm_server_spec'},  # vllm_server_spec: the lookup's name
}
# Named on purpose as what does not exist: the README's examples of mistyped settings.
MISTYPED_EXAMPLES = {'redeploy_max_ttft_raise', 'gpu_host_check_min_gpu_memory', 'vllm_bench_extra_args'}


def options(role):
    with open(os.path.join(ROOT, 'roles', role, 'meta', 'argument_specs.yml')) as handle:
        specs = yaml.safe_load(handle)['argument_specs']
    return set(name for spec in specs.values() for name in (spec.get('options') or {}))


def collection_files():
    """Modules, actions, filters, lookups, plugin_utils, module_utils and Molecule scenarios, by name."""
    names = set(os.path.splitext(os.path.basename(p))[0] for p in glob.glob(os.path.join(ROOT, 'plugins', '*', '*.py')))
    names |= set(os.listdir(os.path.join(ROOT, 'molecule')))
    for path in glob.glob(os.path.join(ROOT, 'plugins', 'filter', '*.py')):
        with open(path) as handle:
            names |= set(re.findall(r"^\s+'([a-z0-9_]+)': [a-z0-9_]+,?$", handle.read(), re.M))
    return names


KNOWN = dict((role, options(role) | OUTPUTS.get(role, set())) for role in ROLES)
FILES = collection_files()


@pytest.mark.parametrize('path', PAGES + SHIPPED)
def test_every_role_name_mentioned_exists(path):
    with open(os.path.join(ROOT, path)) as handle:
        text = handle.read()
    wrong = []
    for name in sorted(set(NAME.findall(text)) - FILES - MISTYPED_EXAMPLES):
        role = max((r for r in ROLES if name.startswith(r + '_')), key=len)
        if name not in KNOWN[role]:
            wrong.append('%s: not a setting or output of %s' % (name, role))
    assert wrong == []


@pytest.mark.parametrize('path', PAGES)
def test_every_playbook_named_is_shipped_and_every_yaml_block_parses(path):
    with open(os.path.join(ROOT, path)) as handle:
        text = handle.read()
    missing = sorted(set(p for p in re.findall(r'\bplaybooks/([a-z_]+\.yml)\b', text)
                         if not os.path.exists(os.path.join(ROOT, 'playbooks', p))))
    assert missing == []
    for block in re.findall(r'^```ya?ml\n(.*?)^```', text, re.M | re.S):
        yaml.safe_load(block)


def test_the_guide_pages_are_all_checked():
    assert len([p for p in PAGES if p.startswith('docs/guides/')]) == 5
