"""`--limit`, as the README recommends, keeps the fleet verdict: the report play runs on the selected hosts (once, on the
controller), not on localhost, which a --limit to a node would leave out. A node whose checks fail fails the run with
and without --limit, and the report names it. The harness: badinput.py (node1 is this machine, nvidia-smi the double)."""
import os

import pytest

import badinput


@pytest.mark.parametrize('options', [(), ('--limit', 'node1'), ('--limit', 'gpu_nodes:&node1'), ('--check', '--limit', 'node1')],
                         ids=['no-limit', 'limit-host', 'limit-pattern', 'check-limit'])
def test_a_failing_preflight_fails_the_run_under_limit(tmp_path, options):
    case_dir = str(tmp_path / 'case')
    os.makedirs(case_dir)
    smi = badinput.nvidia_smi(case_dir)
    # The double reports one H100; expecting 8 GPUs fails the node's gpu_count check.
    inv = badinput.inventory(case_dir, hostvars={'gpu_host_check_nvidia_smi': smi, 'gpu_host_check_container_engine': 'none',
                                                 'gpu_host_check_expected_gpu_count': 8, 'gpu_host_check_model_cache_path': case_dir},
                             groups={'other_nodes': ['node2']})
    rc, out = badinput.run_playbook('preflight.yml', case_dir, {}, inv, options=options)
    assert rc != 0, out[-3000:]
    assert 'Preflight failed on 1 host(s): node1' in out, out[-3000:]
    if '--check' in options:
        # Check mode reads and judges the node (nothing it runs changes a host) and writes no report, saying so.
        assert 'gpu_count' in out and 'check mode writes no report' in out and 'Fleet report' not in out, out[-3000:]
        assert not os.path.exists(os.path.join(case_dir, 'reports')), 'check mode wrote a report'
        return
    assert os.path.islink(os.path.join(case_dir, 'reports', 'preflight-latest')), 'no report was written'
    assert 'node2' not in open(os.path.join(case_dir, 'reports', 'preflight-latest', 'report.md')).read()
