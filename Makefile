# inferops.gpu_inference — the two README commands are `make demo` and `make test`.
# Each does its own set-up on a fresh Debian 12 machine: virtualenv, Docker engine,
# test images (built once, reused while their inputs are unchanged).
SHELL := /bin/bash
VENV  ?= .venv
PY    := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: demo test venv collection bed unit lint sanity molecule clean

demo: venv collection bed
	ansible-playbook playbooks/site.yml

# The bed builds inside tests/run_all.sh, beside the stages that need no Docker engine.
test: venv collection
	tests/run_all.sh

venv: $(VENV)/.stamp
$(VENV)/.stamp: requirements.txt
	@command -v python3 >/dev/null || { apt-get update -qq && apt-get install -y -qq python3 python3-venv; }
	@python3 -c 'import ensurepip' 2>/dev/null || { apt-get update -qq && apt-get install -y -qq python3-venv; }
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q -r requirements.txt
	touch $@

# Ansible finds this checkout as inferops.gpu_inference through ansible.cfg's collections_path.
collection:
	@mkdir -p .collections/ansible_collections/inferops
	@ln -sfn ../../.. .collections/ansible_collections/inferops/gpu_inference

bed:
	tests/bed/ensure_docker.sh
	tests/bed/build_node_image.sh
	tests/bed/build_vllm_image.sh
	tests/bed/build_pod_image.sh
	tests/bed/build_pod_cc_image.sh
	tests/bed/build_gateway_image.sh
	tests/bed/build_systemd_image.sh
	tests/bed/build_setup_image.sh
	tests/bed/build_ssh_images.sh
	tests/bed/build_monitoring_image.sh

unit: venv
	$(PY) -m pytest -q tests/unit

lint: venv collection
	ansible-lint --profile production

sanity: venv
	tests/sanity.sh

molecule: venv collection bed
	tests/molecule.sh

clean:
	-docker rm -f inferops-demo-vllm inferops-demo-vllm-previous
	rm -rf reports .collections
