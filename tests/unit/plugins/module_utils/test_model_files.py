"""model_files: a folder's files and sizes (links followed, broken ones skipped, long listings cut) and what a node's
copy lacks (the hub cache: test_hf_hub.py)."""
import os

from ansible_collections.inferops.gpu_inference.plugins.module_utils import model_files


def test_sizes_follow_links_skip_broken_ones_and_are_none_for_no_folder(tmp_path):
    (tmp_path / 'sub').mkdir()
    (tmp_path / 'sub' / 'a.bin').write_bytes(b'12345')
    os.symlink(str(tmp_path / 'sub' / 'a.bin'), str(tmp_path / 'link.bin'))
    os.symlink(str(tmp_path / 'gone'), str(tmp_path / 'broken.bin'))
    assert model_files.sizes(str(tmp_path)) == {'sub/a.bin': 5, 'link.bin': 5}
    assert model_files.sizes(str(tmp_path / 'nothing')) is None and model_files.sizes('') is None


def test_a_long_listing_is_cut_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(model_files, 'MAX_FILES', 3)
    for i in range(5):
        (tmp_path / ('f%d' % i)).write_text('x')
    found = model_files.sizes(str(tmp_path))
    assert len(found) == 4 and found['...'] == -1


def test_differences_name_what_is_missing_or_of_another_size():
    wanted = {'config.json': 2, 'model.safetensors': 1000, 'tokenizer.json': 50}
    assert model_files.differences(wanted, {'config.json': 2, 'model.safetensors': 999}) == ['model.safetensors', 'tokenizer.json']
    assert model_files.differences(wanted, None) == sorted(wanted) and model_files.differences(wanted, dict(wanted)) == []


def test_the_record_of_a_staging_is_read_and_anything_else_is_no_record(tmp_path):
    record = tmp_path / 'tiny.inferops-staged.json'
    record.write_text('{"signature": "abc", "source": "/srv/tiny"}')
    assert model_files.manifest_signature(str(record)) == 'abc'
    for text in ('not json', '["abc"]', '{"signature": 7}', '{}'):
        record.write_text(text)
        assert model_files.manifest_signature(str(record)) == '', text
    assert model_files.manifest_signature(str(tmp_path / 'none.json')) == ''


def test_one_listing_gives_sizes_and_times_and_stops_at_its_limit(tmp_path):
    for i in range(3):
        (tmp_path / ('f%d' % i)).write_bytes(b'x' * i)
    found = model_files.listing(str(tmp_path))
    assert [(name, size) for name, (size, dummy) in found.items()] == [('f0', 0), ('f1', 1), ('f2', 2)]
    assert model_files.listing(str(tmp_path), 2) == dict(list(found.items())[:2], **{'...': (-1, 0)})
    assert model_files.sizes_of(found) == {'f0': 0, 'f1': 1, 'f2': 2} and model_files.sizes_of(None) is None
