"""ansible-doc shows each role setting's real default (issue 30, item 9: it showed `default: null` for
vllm_bench_scenarios, droplet_gpu_sizes and vllm_server_image, which have defaults).

Every option of every entry point in roles/*/meta/argument_specs.yml that roles/*/defaults/main.yml gives a value
must declare that value as its `default:` - a list or a dict as itself, a Jinja expression as its text - unless it
is listed in EXEMPT below with the reason; and a `default:` in a spec must be what defaults/main.yml says (Ansible
applies only the defaults file: a default the spec alone declares is one the role does not have).
test_role_interfaces.py checks the rest of the interface (every default declared as an option, the types, outputs).
"""
import os

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
ROLES = sorted(os.listdir(os.path.join(ROOT, 'roles')))

# Options with a value in defaults/main.yml and no `default:` in the spec, each with why. The description must say
# the default in words (checked below).
_NULL_IS_A_VALUE = ('null is a legal value (no such SLO), and Ansible\'s argument check type-checks a null against a '
                    'declared default, so declaring it would refuse null (tests/integration/test_bad_input_bench_redeploy.py, '
                    'capacity-no-slo); the description says the default')
_PRIVATE = ('its default is an expression over the role\'s private variables (_vllm_bench_server_runtime, '
            '_vllm_bench_server_model), which ansible-doc readers cannot look up; the description says the rule in words')
_SECRET = ('a secret whose default is read from the environment or another secret: Ansible\'s argument check prints the '
           'spec, templated, at -vvv when a check fails, so a declared default would print the secret; the description '
           'says where it comes from (tests/integration/test_bad_input_providers.py, item-not-dict)')
EXEMPT = {
    'droplet_api_token': _SECRET,
    'vllm_bench_api_key': _SECRET,
    'vllm_bench_hf_token': _SECRET,
    'vllm_bench_capacity_ttft_p99_ms': _NULL_IS_A_VALUE,
    'vllm_bench_capacity_tpot_p99_ms': _NULL_IS_A_VALUE,
    'vllm_bench_runner': _PRIVATE,
    'vllm_bench_engine': _PRIVATE,
    'vllm_bench_vllm': _PRIVATE,
    'vllm_bench_base_url': _PRIVATE,
    'vllm_bench_model': _PRIVATE,
    'vllm_bench_tokenizer': _PRIVATE,
}


def load(role, *path):
    with open(os.path.join(ROOT, 'roles', role, *path)) as handle:
        return yaml.safe_load(handle) or {}


def defaults_of(role):
    # Names starting with _ are the role's own, not settings.
    return dict((k, v) for k, v in load(role, 'defaults', 'main.yml').items() if not k.startswith('_'))


def entry_points(role):
    return load(role, 'meta', 'argument_specs.yml')['argument_specs']


def description(option):
    text = option.get('description') or ''
    return ' '.join(text) if isinstance(text, list) else text


@pytest.mark.parametrize('role', ROLES)
def test_every_default_is_shown_with_its_value(role):
    defaults = defaults_of(role)
    problems = []
    for entry, spec in sorted(entry_points(role).items()):
        for name, option in sorted((spec.get('options') or {}).items()):
            if name not in defaults or name in EXEMPT:
                continue
            value = defaults[name]
            if value is None:
                # No `default:` is null, as ansible-doc shows it.
                shown = option.get('default')
            elif 'default' not in option:
                problems.append('%s (%s): no default in meta/argument_specs.yml; defaults/main.yml has %r' % (name, entry, value))
                continue
            else:
                shown = option['default']
            if shown != value:
                problems.append('%s (%s): meta/argument_specs.yml default %r, defaults/main.yml %r' % (name, entry, shown, value))
    assert not problems, '\n'.join(problems)


@pytest.mark.parametrize('role', ROLES)
def test_no_spec_declares_a_default_the_role_does_not_have(role):
    defaults = defaults_of(role)
    problems = ['%s (%s): default %r in meta/argument_specs.yml, none in defaults/main.yml' % (name, entry, option['default'])
                for entry, spec in sorted(entry_points(role).items())
                for name, option in sorted((spec.get('options') or {}).items())
                if option.get('default') is not None and name not in defaults]
    assert not problems, '\n'.join(problems)


def role_of(name):
    return max((role for role in ROLES if name.startswith(role + '_')), key=len, default=None)


@pytest.mark.parametrize('name', sorted(EXEMPT))
def test_each_exemption_is_current_and_its_description_says_the_default(name):
    role = role_of(name)
    assert role, '%s: exempted, but no role has its prefix' % name
    defaults, options = defaults_of(role), {}
    for spec in entry_points(role).values():
        options.update(spec.get('options') or {})
    assert name in options and name in defaults, '%s: exempted, but not an option with a value in defaults/main.yml' % name
    assert 'default' not in options[name], '%s: exempted, but now declares a default: remove it from EXEMPT' % name
    text = description(options[name])
    value = defaults[name]
    said = 'default' in text.lower() and ('{{' in str(value) or str(value) in text)
    assert said, '%s: the description must say its default (%r) in words' % (name, value)
