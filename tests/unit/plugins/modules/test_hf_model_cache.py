"""hf_model_cache run as on a node (unit_support.run_module) against the hub double on loopback: check mode says what
it would download and writes nothing, a run downloads, a second changes nothing; bad settings and a refused token are
named with the module's reason, and the token is in no output."""
import os
import sys
import threading

from unit_support import ROOT, run_module

sys.path.insert(0, os.path.join(ROOT, 'tests', 'doubles'))
import hf_hub_double  # noqa: E402  pylint: disable=wrong-import-position

TOKEN = 'hf_ModuleTestToken012345'


def test_check_mode_then_a_download_then_nothing(tmp_path):
    model = tmp_path / 'model'
    model.mkdir()
    (model / 'config.json').write_text('{}')
    (model / 'model.safetensors').write_bytes(b'w' * 4096)
    server = hf_hub_double.make_server({'org/tiny': str(model)}, token=TOKEN)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    args = {'model': 'org/tiny', 'hf_home': str(tmp_path / 'hf'), 'endpoint': 'http://127.0.0.1:%d' % server.state.port, 'token': TOKEN}
    checked = run_module('hf_model_cache', args, check_mode=True)
    assert checked['changed'] and checked['downloaded'] == ['config.json', 'model.safetensors'] and not (tmp_path / 'hf').exists()
    done = run_module('hf_model_cache', args)
    assert done['changed'] and done['commit'] == server.state.repos['org/tiny'].commit and done['downloaded_bytes'] == 4098
    assert os.path.isfile(os.path.join(done['snapshot'], 'model.safetensors'))
    again = run_module('hf_model_cache', args)
    assert not again['changed'] and again['downloaded'] == []
    refused = run_module('hf_model_cache', dict(args, token='hf_NotTheToken0000'))
    assert refused['failed'] and refused['reason'] == 'refused' and 'vllm_server_hf_token' in refused['msg']
    assert TOKEN not in str([checked, done, again, refused])
    server.shutdown()


def test_bad_settings_are_named_before_any_request(tmp_path):
    bad_model = run_module('hf_model_cache', {'model': '../etc', 'hf_home': str(tmp_path)})
    assert bad_model['reason'] == 'bad_setting' and 'model=../etc' in bad_model['msg']
    bad_revision = run_module('hf_model_cache', {'model': 'org/m', 'revision': '../../x', 'hf_home': str(tmp_path)})
    assert bad_revision['reason'] == 'bad_setting' and 'revision=../../x' in bad_revision['msg']
    bad_endpoint = run_module('hf_model_cache', {'model': 'org/m', 'endpoint': 'ftp://mirror', 'hf_home': str(tmp_path)})
    assert bad_endpoint['reason'] == 'bad_setting' and 'ftp://mirror' in bad_endpoint['msg']
