"""plugins/filter/runpod.py: runpod_pod_problems, provision.yml's check of runpod_pods before any RunPod API call.

Each problem names runpod_pods[i].option, the value and what is allowed; unknown keys and names used twice are
reported; a secret_env value never appears in a message (Ansible prints the assert's fail_msg).
"""
import json

import pytest

from ansible_collections.inferops.gpu_inference.plugins.filter.runpod import POD_KEYS, FilterModule, runpod_pod_problems

SECRET = 'hf_SecretValue42'
# As fleet.yml gives them (README: runpod_pods: [{name, gpu_type, gpu_count}]), and one with every option.
SMALL = {'name': 'vllm-h100-1', 'gpu_type': 'NVIDIA H100 80GB HBM3', 'gpu_count': 1}
FULL = {'name': 'vllm-h100x2-1', 'image': 'vllm/vllm-openai:v0.32.0', 'gpu_type': 'NVIDIA H100 80GB HBM3', 'gpu_count': 2,
        'container_disk_gb': 50, 'volume_gb': 200, 'volume_mount_path': '/workspace', 'ports': ['8000/http', '22/tcp'],
        'env': {'HF_HUB_OFFLINE': '1'}, 'secret_env': {'HF_TOKEN': SECRET}, 'docker_args': ['--model', 'm'],
        'cloud_type': 'SECURE', 'wait_timeout': 900}


def pod(**changes):
    out = dict(FULL)
    out.update(changes)
    return out


def test_good_pods_have_no_problem_and_the_filter_is_registered():
    assert FilterModule().filters()['runpod_pod_problems'] is runpod_pod_problems
    assert sorted(FULL) == sorted(POD_KEYS)  # FULL sets every key provision.yml reads
    assert runpod_pod_problems([SMALL, FULL]) == []
    assert runpod_pod_problems([]) == []


def test_values_given_as_text_with_minus_e_pass():
    assert runpod_pod_problems([pod(gpu_count='2', container_disk_gb='50', volume_gb='0', wait_timeout='600')]) == []


def test_a_pod_without_an_image_gets_the_default_one_but_gpu_type_is_needed():
    assert runpod_pod_problems([dict((k, v) for k, v in FULL.items() if k != 'image')]) == []
    assert runpod_pod_problems([{'name': 'p1'}]) == ['runpod_pods[0].gpu_type is missing: a pod needs it to be created']
    assert runpod_pod_problems([pod(gpu_type='')]) == ['runpod_pods[0].gpu_type is missing: a pod needs it to be created']


@pytest.mark.parametrize('changes,problem', [
    ({'name': 'vllm h100'}, 'runpod_pods[1].name="vllm h100" must be 1 to 63 letters, digits, . _ or -, starting with a letter or digit '
                            '(it becomes the inventory host name)'),
    ({'name': '-oProxyCommand=x'}, 'runpod_pods[1].name="-oProxyCommand=x" must be 1 to 63 letters'),
    ({'name': 'n' * 64}, 'runpod_pods[1].name="%s' % ('n' * 10)),
    ({'name': None}, 'runpod_pods[1].name=null must be'),
    ({'gpu_count': 0}, 'runpod_pods[1].gpu_count=0 must be a whole number of 1 or more'),
    ({'gpu_count': 1.5}, 'runpod_pods[1].gpu_count=1.5 must be a whole number of 1 or more'),
    ({'gpu_count': True}, 'runpod_pods[1].gpu_count=true must be a whole number of 1 or more'),
    ({'container_disk_gb': 'big'}, 'runpod_pods[1].container_disk_gb="big" must be a whole number of 1 or more'),
    ({'volume_gb': -1}, 'runpod_pods[1].volume_gb=-1 must be a whole number of 0 or more'),
    ({'wait_timeout': 0}, 'runpod_pods[1].wait_timeout=0 must be a whole number of 1 or more'),
    ({'ports': '8000/http'}, 'runpod_pods[1].ports="8000/http" must be a list such as ["8000/http", "22/tcp"]'),
    ({'ports': ['8000']}, 'runpod_pods[1].ports item "8000" must be PORT/http or PORT/tcp with PORT from 1 to 65535 (RunPod needs the protocol)'),
    ({'ports': ['53/udp']}, 'runpod_pods[1].ports item "53/udp" must be PORT/http or PORT/tcp'),
    ({'ports': ['70000/tcp']}, 'runpod_pods[1].ports item "70000/tcp" must be PORT/http or PORT/tcp with PORT from 1 to 65535'),
    ({'ports': ['8000/http', '8000/tcp']}, 'runpod_pods[1].ports=["8000/http", "8000/tcp"] lists a port twice'),
    ({'cloud_type': 'secure'}, 'runpod_pods[1].cloud_type="secure" must be one of SECURE, COMMUNITY, ALL'),
    ({'env': {'1BAD': 'x'}}, 'runpod_pods[1].env names ["1BAD"] must be letters, digits and _, not starting with a digit'),
    ({'env': ['HF_HUB_OFFLINE=1']}, 'runpod_pods[1].env must be a dictionary of variable names to values'),
    ({'env': {'WANDB_API_KEY': 'k'}}, 'runpod_pods[1].env names WANDB_API_KEY look like secrets, which env shows in plain view '
                                      '(the API, -vvv output): put them in secret_env'),
    ({'gpus': 2}, 'runpod_pods[1] has unknown key(s) gpus; allowed: %s' % ', '.join(POD_KEYS)),
])
def test_each_problem_names_the_pod_option_and_value(changes, problem):
    problems = runpod_pod_problems([SMALL, pod(**changes)])
    assert len(problems) == 1 and problems[0].startswith(problem), problems


def test_every_problem_of_a_pod_is_listed_in_order():
    problems = runpod_pod_problems([{'name': 'a b', 'gpu_count': 0, 'ports': ['8000'], 'cloud_type': 'x', 'extra': 1}])
    assert [p.split('=', maxsplit=1)[0].split(' ', maxsplit=1)[0] for p in problems] == [
        'runpod_pods[0]', 'runpod_pods[0].name', 'runpod_pods[0].gpu_type', 'runpod_pods[0].gpu_count', 'runpod_pods[0].ports',
        'runpod_pods[0].cloud_type']
    assert problems[0] == 'runpod_pods[0] has unknown key(s) extra; allowed: %s' % ', '.join(POD_KEYS)


def test_a_name_used_twice_is_named_at_its_second_use():
    problems = runpod_pod_problems([SMALL, FULL, dict(SMALL, gpu_count=2)])
    assert problems == ['runpod_pods[2].name="vllm-h100-1" is used twice']


@pytest.mark.parametrize('secret_env,problem', [
    ({'HF TOKEN': SECRET}, 'runpod_pods[0].secret_env names ["HF TOKEN"] must be letters, digits and _, not starting with a digit'),
    (SECRET, 'runpod_pods[0].secret_env must be a dictionary of variable names to values'),
    ([SECRET], 'runpod_pods[0].secret_env must be a dictionary of variable names to values'),
])
def test_a_bad_secret_env_is_named_without_its_values(secret_env, problem):
    problems = runpod_pod_problems([pod(secret_env=secret_env)])
    assert problems == [problem]
    assert SECRET not in json.dumps(problems)


def test_a_secret_in_env_and_secret_env_is_named_not_shown():
    problems = runpod_pod_problems([pod(env={'HF_TOKEN': SECRET}, secret_env={'HF_TOKEN': SECRET})])
    assert problems == ['runpod_pods[0].env names HF_TOKEN look like secrets, which env shows in plain view (the API, -vvv output): '
                        'put them in secret_env', 'runpod_pods[0].HF_TOKEN set in both env and secret_env']
    assert SECRET not in json.dumps(problems)
    # A secret value given where the pod has no such option: only the key is named.
    problems = runpod_pod_problems([pod(secrets={'HF_TOKEN': SECRET}, env={'X': 1}, secret_env={'HF_TOKEN ': SECRET})])
    assert len(problems) == 2 and SECRET not in json.dumps(problems)


def test_not_a_list_or_not_dictionaries():
    assert runpod_pod_problems({'name': 'p1'}) == ['runpod_pods must be a list of pods (dictionaries)']
    assert runpod_pod_problems(None) == ['runpod_pods must be a list of pods (dictionaries)']
    assert runpod_pod_problems([SMALL, 'vllm-h100-2', None]) == ['runpod_pods[1] must be a dictionary', 'runpod_pods[2] must be a dictionary']
