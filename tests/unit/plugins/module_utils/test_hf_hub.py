"""hf_hub: a hub model into a node's hub cache, against the hub double (tests/doubles/hf_hub_double.py, real HTTP on
loopback): the layout huggingface_hub makes (the Molecule scenario vllm_server serves it with vLLM, offline), only what
is missing downloaded, every file checked, the token kept to the hub's host, and the answers of a hostile mirror
refused before anything is written."""
import hashlib
import json
import os
import sys
import threading

import pytest

from ansible_collections.inferops.gpu_inference.plugins.module_utils import hf_hub

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'doubles'))
import hf_hub_double  # noqa: E402  pylint: disable=wrong-import-position

TOKEN = 'hf_UnitTestToken0123456789'
MODEL = 'inferops-bed/tiny'


@pytest.fixture()
def folder(tmp_path):
    model = tmp_path / 'model'
    (model / 'sub').mkdir(parents=True)
    (model / 'config.json').write_text('{"model_type": "llama"}')
    (model / 'model.safetensors').write_bytes(os.urandom(300000))
    (model / 'sub' / 'tokenizer.json').write_text('{"version": "1.0"}')
    return model


def serve(folder, tmp_path, **options):
    server = hf_hub_double.make_server({MODEL: str(folder)}, log=str(tmp_path / 'requests.log'), **options)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def hub_of(server, token=TOKEN):
    return hf_hub.Hub('http://127.0.0.1:%d' % server.state.port, token, 10)


def requests_log(tmp_path):
    path = tmp_path / 'requests.log'
    return path.read_text().splitlines() if path.exists() else []


def test_the_layout_is_huggingface_hubs_every_file_checked_and_a_second_run_downloads_nothing(folder, tmp_path):
    server = serve(folder, tmp_path, token=TOKEN, page_size=2)
    home = str(tmp_path / 'hf')
    commit = server.state.repos[MODEL].commit
    first = hf_hub.stage(hub_of(server), home, MODEL)
    assert first['changed'] and first['commit'] == commit and first['files'] == 3
    assert sorted(first['downloaded']) == ['config.json', 'model.safetensors', 'sub/tokenizer.json']
    repo = os.path.join(home, 'hub', 'models--inferops-bed--tiny')
    assert open(os.path.join(repo, 'refs', 'main')).read() == commit
    weights = os.path.join(repo, 'snapshots', commit, 'model.safetensors')
    sha256 = hashlib.sha256((folder / 'model.safetensors').read_bytes()).hexdigest()
    assert os.readlink(weights) == '../../blobs/' + sha256
    tokenizer = os.path.join(repo, 'snapshots', commit, 'sub', 'tokenizer.json')
    data = (folder / 'sub' / 'tokenizer.json').read_bytes()
    assert os.readlink(tokenizer) == '../../../blobs/' + hashlib.sha1(b'blob %d\0' % len(data) + data).hexdigest()
    assert open(tokenizer, 'rb').read() == data
    assert hf_hub.cached_snapshot(home, MODEL) == os.path.dirname(weights)
    assert hf_hub.cached_snapshot(home, MODEL, commit) == os.path.dirname(weights)
    assert hf_hub.cached_snapshot(home, MODEL, 'v2') == ''
    again = hf_hub.stage(hub_of(server), home, MODEL, commit)
    assert not again['changed'] and again['downloaded'] == []
    # The token went with every request to the hub and with none to its CDN (which refuses one).
    log = requests_log(tmp_path)
    assert [line for line in log if line.startswith('GET /cdn/')] and all(line.endswith('auth=no') for line in log if '/cdn/' in line)
    assert all(line.endswith('auth=yes') for line in log if '/cdn/' not in line)
    server.shutdown()


def test_a_lost_or_changed_file_is_downloaded_again_and_only_it(folder, tmp_path):
    server = serve(folder, tmp_path)
    home = str(tmp_path / 'hf')
    hf_hub.stage(hub_of(server, ''), home, MODEL)
    snapshot = hf_hub.cached_snapshot(home, MODEL)
    os.remove(os.path.join(snapshot, 'config.json'))
    assert hf_hub.stage(hub_of(server, ''), home, MODEL, check_mode=True)['downloaded'] == ['config.json']
    assert not os.path.exists(os.path.join(snapshot, 'config.json'))  # check mode wrote nothing
    assert hf_hub.stage(hub_of(server, ''), home, MODEL)['downloaded'] == ['config.json']
    assert os.path.isfile(os.path.join(snapshot, 'config.json'))
    server.shutdown()


def test_a_file_that_does_not_match_its_hash_is_not_kept(folder, tmp_path):
    server = serve(folder, tmp_path, corrupt=['model.safetensors'])
    home = str(tmp_path / 'hf')
    with pytest.raises(hf_hub.HubError) as failed:
        hf_hub.stage(hub_of(server, ''), home, MODEL)
    assert failed.value.reason == 'mismatch' and 'model.safetensors' in str(failed.value) and 'sha256' in str(failed.value)
    blobs = os.listdir(os.path.join(home, 'hub', 'models--inferops-bed--tiny', 'blobs'))
    assert not [b for b in blobs if len(b) == 64 or b.endswith('.incomplete')]
    assert hf_hub.cached_snapshot(home, MODEL) == ''
    server.shutdown()


def test_a_gated_model_without_the_token_is_refused_naming_the_setting_and_not_the_token(folder, tmp_path):
    server = serve(folder, tmp_path, token=TOKEN)
    with pytest.raises(hf_hub.HubError) as failed:
        hf_hub.stage(hub_of(server, 'hf_WrongToken0000000'), str(tmp_path / 'hf'), MODEL)
    assert failed.value.reason == 'refused' and 'vllm_server_hf_token' in str(failed.value) and 'hf_Wrong' not in str(failed.value)
    with pytest.raises(hf_hub.HubError) as failed:
        hf_hub.stage(hub_of(server), str(tmp_path / 'hf'), 'inferops-bed/other')
    assert failed.value.reason == 'missing'
    server.shutdown()


@pytest.mark.parametrize('entry, named', [
    ({'type': 'file', 'path': '../../../../etc/cron.d/x', 'size': 1, 'oid': 'a' * 40}, '../../../../etc/cron.d/x'),
    ({'type': 'file', 'path': '/etc/passwd', 'size': 1, 'oid': 'a' * 40}, '/etc/passwd'),
    ({'type': 'file', 'path': 'a\nb', 'size': 1, 'oid': 'a' * 40}, 'a\\nb'),
    ({'type': 'file', 'path': 'config.json', 'size': 1, 'oid': 'a' * 40}, 'twice'),
    ({'type': 'file', 'path': 'x.bin', 'size': 1, 'oid': 'a' * 40, 'lfs': {'oid': '../../x', 'size': 1}}, 'sha256'),
    ({'type': 'file', 'path': 'x.json', 'size': -5, 'oid': 'a' * 40}, 'whole number'),
    ({'type': 'file', 'path': 'x.json', 'size': 1, 'oid': 'zz'}, 'git-sha1'),
])
def test_a_hostile_listing_is_refused_before_anything_is_written(folder, tmp_path, entry, named):
    server = serve(folder, tmp_path, extra=[entry])
    home = tmp_path / 'hf'
    with pytest.raises(hf_hub.HubError) as failed:
        hf_hub.stage(hub_of(server, ''), str(home), MODEL)
    assert failed.value.reason == 'bad_answer' and named in str(failed.value)
    assert not home.exists()
    server.shutdown()


def test_answers_of_the_wrong_form_are_named():
    with pytest.raises(hf_hub.HubError, match='not a list'):
        hf_hub.files_of({'files': []}, MODEL)
    with pytest.raises(hf_hub.HubError, match='no files'):
        hf_hub.files_of([{'type': 'directory', 'path': 'x'}], MODEL)
    with pytest.raises(hf_hub.HubError, match='under a file of the same name'):
        hf_hub.files_of([{'type': 'file', 'path': 'a', 'size': 1, 'oid': 'a' * 40},
                         {'type': 'file', 'path': 'a/b', 'size': 1, 'oid': 'a' * 40}], MODEL)


def test_a_commit_of_the_wrong_form_is_refused(monkeypatch):
    hub = hf_hub.Hub('http://127.0.0.1:9', '', 1)
    monkeypatch.setattr(hub, '_json', lambda path, what: ({'sha': '../../etc'}, ''))
    with pytest.raises(hf_hub.HubError, match='40 hexadecimal digits'):
        hub.commit(MODEL, 'main')


@pytest.mark.parametrize('endpoint', ['ftp://mirror', 'https://user:pw@mirror', 'https://mirror/?x=1', 'https://mirror/#f', 'mirror'])
def test_an_endpoint_that_is_not_a_hubs_address_is_named(endpoint):
    assert hf_hub.endpoint_problem(endpoint)
    with pytest.raises(hf_hub.HubError) as failed:
        hf_hub.Hub(endpoint)
    assert failed.value.reason == 'bad_setting'
    assert 'pw' not in hf_hub.endpoint_problem('https://user:pw@mirror')


@pytest.mark.parametrize('revision, ok', [('main', True), ('v1.0', True), ('refs/pr/1', True), ('a' * 40, True),
                                          ('../x', False), ('a//b', False), ('a/', False), ('-x', False), ('a b', False)])
def test_revisions(revision, ok):
    assert bool(hf_hub.REVISION_RE.match(revision)) == ok


def test_an_unreachable_hub_is_named():
    with pytest.raises(hf_hub.HubError) as failed:
        hf_hub.Hub('http://127.0.0.1:9', '', 2).commit(MODEL, 'main')
    assert failed.value.reason == 'unreachable' and '127.0.0.1' in str(failed.value)


def test_the_newest_snapshot_with_weights_when_no_ref_says_which(tmp_path):
    snapshots = tmp_path / 'hub' / 'models--org--name' / 'snapshots'
    assert hf_hub.cached_snapshot(str(tmp_path), 'org/name') == ''
    (snapshots / 'old').mkdir(parents=True)
    (snapshots / 'old' / 'model.safetensors').write_text('w')
    (snapshots / 'new').mkdir()
    (snapshots / 'new' / 'config.json').write_text('{}')  # no weights yet
    assert hf_hub.cached_snapshot(str(tmp_path), 'org/name') == str(snapshots / 'old')
    (tmp_path / 'hub' / 'models--org--name' / 'refs').mkdir()
    (tmp_path / 'hub' / 'models--org--name' / 'refs' / 'main').write_text('b' * 40)
    assert hf_hub.cached_snapshot(str(tmp_path), 'org/name') == ''  # main names a commit the cache lacks


def test_the_next_page_link():
    assert hf_hub._next_link('<https://hub/api/x?cursor=2>; rel="next"') == 'https://hub/api/x?cursor=2'
    assert hf_hub._next_link('<https://hub/api/x?cursor=0>; rel="prev"') == ''
    assert json.dumps(hf_hub._next_link('')) == '""'


def test_a_download_cut_short_leaves_no_snapshot_that_looks_complete(folder, tmp_path, monkeypatch):
    """Every blob first, then the snapshot's links: the model check must not take half a model for the model."""
    (folder / 'model-00002.safetensors').write_bytes(b'x' * 1000)
    server = serve(folder, tmp_path)
    hub = hub_of(server, '')
    real = hub.download

    def cut_short(model_id, commit, f, dest):
        if f['path'] == 'model-00002.safetensors':
            raise hf_hub.HubError('the download of %s stopped' % f['path'], 'unreachable')
        return real(model_id, commit, f, dest)
    monkeypatch.setattr(hub, 'download', cut_short)
    home = str(tmp_path / 'hf')
    with pytest.raises(hf_hub.HubError):
        hf_hub.stage(hub, home, MODEL)
    commit = server.state.repos[MODEL].commit
    assert hf_hub.cached_snapshot(home, MODEL) == '' and hf_hub.cached_snapshot(home, MODEL, commit) == ''
    monkeypatch.setattr(hub, 'download', real)
    assert hf_hub.stage(hub, home, MODEL)['downloaded'] == ['config.json', 'model-00002.safetensors', 'model.safetensors',
                                                            'sub/tokenizer.json']
    server.shutdown()


def test_a_file_listed_before_a_file_of_its_folders_name_is_refused():
    with pytest.raises(hf_hub.HubError, match='under a file of the same name'):
        hf_hub.files_of([{'type': 'file', 'path': 'a/b', 'size': 1, 'oid': 'a' * 40},
                         {'type': 'file', 'path': 'a', 'size': 1, 'oid': 'a' * 40}], MODEL)


def test_a_user_and_password_in_the_endpoint_are_never_shown():
    assert hf_hub.shown('https://user:secret@mirror/x') == 'https://***@mirror/x'
    assert 'secret' not in hf_hub.endpoint_problem('https://user:secret@mirror') + hf_hub.endpoint_problem('ftp://user:secret@m')


@pytest.mark.parametrize('endpoint', ['http://mirror/x\n', 'http://mirror\n-o x', 'http://mir ror', 'http://-o/',
                                      'https://mirror/a b', 'http://mirror:70000', 'http://mirror/\tx', 'http://mirror/a"b'])
def test_an_endpoint_that_would_be_more_than_one_token_in_a_unit_file_is_refused(endpoint):
    """It becomes the server's HF_ENDPOINT, written into unit and program files."""
    assert hf_hub.endpoint_problem(endpoint)


@pytest.mark.parametrize('endpoint', ['https://hf-mirror.example.internal/hub', 'http://127.0.0.1:18960', 'http://[::1]:8080/hub',
                                      'https://mirror/api%2Fv1/'])
def test_a_mirrors_address_is_accepted(endpoint):
    assert hf_hub.endpoint_problem(endpoint) == ''
