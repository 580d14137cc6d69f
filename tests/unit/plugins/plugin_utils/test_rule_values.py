"""rule_values: role settings read as the roles' Jinja read them (| int, | float, | bool, is match), for the rules."""
import pytest

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import rule_values as rv


@pytest.mark.parametrize('value,number', [(8080, 8080), ('8080', 8080), ('42.7', 42), (3.9, 3), ('-1', -1), (' 7 ', 7),
                                          ('x', 0), (None, 0), ([], 0), ('inf', 0), (float('nan'), 0)])
def test_as_int_is_jinjas_int(value, number):
    assert rv.as_int(value) == number


@pytest.mark.parametrize('value,number', [(0.9, 0.9), ('-2.5', -2.5), (3, 3.0), ('x', 0.0), (None, 0.0)])
def test_as_float_is_jinjas_float(value, number):
    assert rv.as_float(value) == number


@pytest.mark.parametrize('value,truth', [(True, True), ('yes', True), ('True', True), (1, True), ('on', True),
                                         (False, False), ('false', False), ('no', False), (0, False), ('', False), (None, False)])
def test_as_bool_is_ansibles_bool(value, truth):
    assert rv.as_bool(value) is truth


def test_fullmatch_lets_no_newline_through():
    assert rv.fullmatch(r'[a-z]+', 'abc')
    assert not rv.fullmatch(r'[a-z]+', 'abc\n')
    assert not rv.fullmatch(r'[a-z]+', 'abc def')
    assert rv.fullmatch(r'[0-9]+', 42)


def test_missing_and_unique_keep_the_order():
    assert rv.missing(['b', 'x', 'a', 'x', 'y'], ['a', 'b']) == ['x', 'y']
    assert rv.missing([], ['a']) == []
    assert rv.unique(['b', 'a', 'b']) == ['b', 'a']


def test_items_of_and_not_lists():
    assert rv.items_of(['a']) == ['a'] and rv.items_of(None) == [] and rv.items_of('') == [] and rv.items_of('a,b') == ['a,b']
    settings = {'good': ['a'], 'none': None, 'text': 'a,b', 'dict': {'a': 1}}
    assert rv.not_lists(settings, ('good', 'none')) == []
    assert rv.not_lists(settings, ('text', 'dict')) == ['text="a,b" must be a list (in YAML, or as JSON with -e)',
                                                        'dict={"a": 1} must be a list (in YAML, or as JSON with -e)']


def test_to_json_is_to_json():
    assert rv.to_json('a "b"\n') == '"a \\"b\\"\\n"'
    assert rv.to_json(['x', 1, None]) == '["x", 1, null]'
