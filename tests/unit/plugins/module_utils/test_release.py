"""module_utils/release (vllm_container, vllm_process): the release folder layout, idempotence, check mode and pruning, on a real temporary folder."""
import os
import stat

import pytest

from ansible_collections.inferops.gpu_inference.plugins.module_utils import release
from ansible_collections.inferops.gpu_inference.plugins.module_utils.release import apply, lay_out


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_lays_out_config_and_root_only_secrets_then_changes_nothing(tmp_path):
    releases = str(tmp_path / 'releases')
    logs = str(tmp_path / 'logs')
    args = (releases, 'aaa', {'logging.json': '{}\n'}, {'hf_token': 'hf_secret'}, [], [logs])
    changed, pruned = lay_out(*args, check=False)
    assert changed and not pruned
    assert mode(releases) == 0o700
    assert mode(os.path.join(releases, 'aaa', 'secrets')) == 0o700
    assert mode(os.path.join(releases, 'aaa', 'secrets', 'hf_token')) == 0o400
    assert mode(os.path.join(releases, 'aaa', 'config', 'logging.json')) == 0o644
    with open(os.path.join(releases, 'aaa', 'secrets', 'hf_token')) as handle:
        assert handle.read() == 'hf_secret'
    assert os.path.isdir(logs)
    assert not any('hf_secret' in p for p in changed)
    assert lay_out(*args, check=False) == ([], [])


def test_rewrites_a_changed_file_and_its_mode_and_removes_files_not_given(tmp_path):
    releases = str(tmp_path / 'releases')
    lay_out(releases, 'aaa', {'a': '1'}, {'s': 'x'}, [], [], check=False)
    secret = os.path.join(releases, 'aaa', 'secrets', 's')
    os.chmod(secret, 0o644)
    changed, dummy = lay_out(releases, 'aaa', {'a': '2'}, {}, [], [], check=False)
    assert os.path.join(releases, 'aaa', 'config', 'a') in changed
    assert not os.path.exists(secret)
    with open(os.path.join(releases, 'aaa', 'config', 'a')) as handle:
        assert handle.read() == '2'


def test_prunes_releases_but_the_new_and_the_kept_one(tmp_path):
    releases = str(tmp_path / 'releases')
    for name in ('old1', 'running', 'old2'):
        os.makedirs(os.path.join(releases, name, 'secrets'))
    dummy, pruned = lay_out(releases, 'new', {}, {}, ['running', ''], [], check=False)
    assert sorted(os.path.basename(p) for p in pruned) == ['old1', 'old2']
    assert sorted(os.listdir(releases)) == ['new', 'running']


def test_check_mode_reports_and_changes_nothing(tmp_path):
    releases = str(tmp_path / 'releases')
    lay_out(releases, 'old', {}, {}, [], [], check=False)
    changed, pruned = lay_out(releases, 'new', {'x': 'y'}, {}, [], [str(tmp_path / 'cache')], check=True)
    assert os.path.join(releases, 'new') in changed and pruned == [os.path.join(releases, 'old')]
    assert os.listdir(releases) == ['old'] and not os.path.exists(str(tmp_path / 'cache'))


def test_apply_refuses_names_that_are_not_plain_file_names(tmp_path):
    options = {'releases_dir': str(tmp_path / 'releases'), 'release': 'abc', 'config': {}, 'secrets': {'../hf_token': 'x'},
               'keep': [], 'dirs': []}
    with pytest.raises(ValueError, match=r'\.\./hf_token'):
        apply(options, check=False)
    assert not (tmp_path / 'releases').exists()


def test_apply_reports_the_release_folder_and_writes_none_as_empty(tmp_path):
    options = {'releases_dir': str(tmp_path / 'releases'), 'release': 'abc', 'config': {'empty': None}, 'secrets': {},
               'keep': [], 'dirs': []}
    result = apply(options, check=False)
    assert result['changed'] and result['release_dir'] == str(tmp_path / 'releases' / 'abc')
    assert (tmp_path / 'releases' / 'abc' / 'config' / 'empty').read_text() == ''
    assert apply(options, check=False)['changed'] is False


def test_unwritable_names_the_folder_that_refuses(tmp_path, monkeypatch):
    # This test runs as root, whom every folder lets in: the user's refusal is os.access's answer for one folder.
    mine, theirs = tmp_path / 'mine', tmp_path / 'theirs'
    mine.mkdir()
    theirs.mkdir()
    (theirs / 'file').write_text('x')
    real = os.access
    monkeypatch.setattr(release.os, 'access', lambda path, how: path != str(theirs) and real(path, how))
    wanted = [str(mine / 'a' / 'b'), str(theirs / 'a' / 'b'), str(theirs), str(theirs / 'file' / 'x')]
    assert release.unwritable(wanted) == {str(theirs / 'a' / 'b'): str(theirs), str(theirs): str(theirs),
                                          str(theirs / 'file' / 'x'): str(theirs / 'file')}
