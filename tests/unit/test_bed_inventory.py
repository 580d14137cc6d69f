"""The CPU bed's vLLM server is set in one place: inventories/local/group_vars/gpu_nodes/cpu_bed.yml.

make demo reads it there; each Molecule scenario that deploys a server links it into its
inventory (molecule/<scenario>/inventory/group_vars/<group>/cpu_bed.yml); the benchmarks and the
journey load it (benchmarks/bedlib.py). Nothing else repeats its settings.
"""
import glob
import os

import yaml

from unit_support import ROOT

CPU_BED = os.path.join(ROOT, 'inventories', 'local', 'group_vars', 'gpu_nodes', 'cpu_bed.yml')
SCENARIOS_WITH_A_SERVER = ('bench', 'multinode', 'rollout', 'vllm_server', 'vllm_server_podman')


def bed():
    with open(CPU_BED) as handle:
        return yaml.safe_load(handle)


def test_each_scenario_that_deploys_a_server_links_the_one_bed_file():
    for scenario in SCENARIOS_WITH_A_SERVER:
        with open(os.path.join(ROOT, 'molecule', scenario, 'molecule.yml')) as handle:
            links = yaml.safe_load(handle)['provisioner']['inventory']['links']
        group_vars = os.path.join(ROOT, 'molecule', scenario, links['group_vars'])
        linked = [path for path in glob.glob(os.path.join(group_vars, '*', 'cpu_bed.yml'))
                  if os.path.islink(path) and os.path.realpath(path) == os.path.realpath(CPU_BED)]
        assert len(linked) == 1, '%s does not link %s into %s' % (scenario, CPU_BED, group_vars)


def test_no_other_file_repeats_the_bed_settings():
    """The bed's image or model set again (the mark of a copied block) where a scenario, inventory or benchmark lives.

    Other settings may agree by chance: the real-GPU inventory also serves a tiny Llama of 1024 tokens.
    """
    pairs = [(name, bed()[name]) for name in ('vllm_server_image', 'vllm_server_model')]
    needles = ['%s: %s' % pair for pair in pairs] + ["'%s': '%s'" % pair for pair in pairs]
    files = [p for pattern in ('molecule/*/molecule.yml', 'molecule/*/inventory/**/*.yml', 'inventories/**/*.yml',
                               'benchmarks/*.py', 'tests/journey/*.py')
             for p in glob.glob(os.path.join(ROOT, pattern), recursive=True)
             if not os.path.islink(p) and os.path.realpath(p) != os.path.realpath(CPU_BED)]
    assert len(files) > 20
    repeats = []
    for path in files:
        with open(path) as handle:
            text = handle.read()
        repeats += ['%s: %s' % (os.path.relpath(path, ROOT), needle) for needle in needles if needle in text]
    assert repeats == []
