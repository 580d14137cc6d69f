"""redeploy_report: the rolling redeploy's summary from the facts redeploy.yml sets."""

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils.redeploy_report import (
    rollout_markdown, rollout_report, rollout_table, version_text)

A = {'image': 'vllm/vllm-openai:v0.31.0', 'model': 'llama', 'fingerprint': 'a' * 64, 'status': 'running'}
B = {'image': 'vllm/vllm-openai:v0.32.0', 'model': 'llama', 'fingerprint': 'b' * 12, 'restarts': 0}


def facts(node=None):
    out = {'redeploy_before': dict(A), 'redeploy_target': dict(B)}
    if node is not None:
        out['redeploy_node'] = node
    return out


def test_version_text_shortens_the_fingerprint():
    assert version_text(A) == 'vllm/vllm-openai:v0.31.0 llama @aaaaaaaaaaaa'
    assert version_text({}) == 'nothing'
    assert version_text({'fingerprint': 'c' * 64}) == '@cccccccccccc'


def test_a_stopped_rollout_says_where_and_what_each_node_runs():
    hostvars = {
        'n1': facts({'outcome': 'replaced', 'runs': B, 'target': B, 'elapsed_s': 41.5}),
        'n2': facts({'outcome': 'rolled_back', 'runs': A, 'target': B,
                     'cause': 'ValidationError: max_model_len (999999) is greater than the derived max_model_len'}),
        'n3': facts(),
    }
    report = rollout_report(['n1', 'n2', 'n3'], hostvars)
    rows = dict((r['host'], r) for r in report['nodes'])
    assert [r['outcome'] for r in report['nodes']] == ['replaced', 'rolled_back', 'not reached']
    assert rows['n1']['runs'].endswith('@' + 'b' * 12) and rows['n1']['on_target']
    assert rows['n2']['runs'].endswith('@' + 'a' * 12) and not rows['n2']['on_target']
    # A node the rollout did not reach still runs what it ran before.
    assert rows['n3']['runs'] == version_text(A)
    assert rows['n3']['target'] == version_text(B)
    assert report['summary'] == {'nodes': 3, 'on_target': 1, 'counts': {'replaced': 1, 'rolled_back': 1, 'not reached': 1},
                                 'stopped_at': ['n2'], 'complete': False}
    table = rollout_table(report)
    assert table[-1] == '1 of 3 node(s) on the new version; rollout stopped at n2'
    assert 'max_model_len (999999)' in table[2]
    markdown = rollout_markdown(report)
    assert '| n2 | rolled_back |' in markdown and 'Stopped at: n2.' in markdown


def test_unreachable_and_down_nodes():
    hostvars = {
        'n1': facts({'outcome': 'unchanged', 'runs': B, 'restarts': 2}),
        'n2': facts({'outcome': 'down', 'runs': {}, 'cause': 'did NOT answer again'}),
        'n3': facts({'outcome': 'unreachable', 'runs': A, 'cause': 'unreachable'}),
    }
    report = rollout_report(['n1', 'n2', 'n3'], hostvars)
    assert [r['runs'] for r in report['nodes']] == [version_text(B), 'nothing', version_text(A)]
    assert report['nodes'][0]['restarts'] == 2
    assert report['summary']['stopped_at'] == ['n2', 'n3']
    assert '(2 restart(s) since deployed)' in rollout_table(report)[1]


def test_a_complete_rollout():
    hostvars = dict((h, facts({'outcome': 'replaced', 'runs': B})) for h in ('n1', 'n2'))
    report = rollout_report(['n1', 'n2'], hostvars)
    assert report['summary']['complete']
    assert rollout_table(report)[-1] == '2 of 2 node(s) on the new version'
    # Pipes in a cause do not break the Markdown table.
    hostvars['n2']['redeploy_node']['cause'] = 'a | b'
    assert 'a \\| b' in rollout_markdown(rollout_report(['n1', 'n2'], hostvars))
