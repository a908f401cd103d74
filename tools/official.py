"""The official Dream code, imported at run time from a folder holding its
configuration_dream.py, generation_utils.py, modeling_dream.py and tokenization_dream.py
(ZHZisZZ/dllm `dllm/pipelines/dream/models/`); nothing of it is copied into this repository.
Shared by scripts/bench_vs_official.py, tools/demo-model/make_fixture.py and
tools/instruct-template/make_reference.py."""

import importlib
import os
import sys
import tempfile


def official_module(folder, name):
    """The module `name` of `folder`, as part of a package named `official_dream` (its modules
    import each other relatively)."""
    if "official_dream" not in sys.modules:
        root = tempfile.mkdtemp()
        os.symlink(os.path.abspath(folder), os.path.join(root, "official_dream"))
        sys.path.insert(0, root)
    return importlib.import_module(f"official_dream.{name}")


def load_official(folder):
    """(modeling_dream, generation_utils) of `folder`."""
    return official_module(folder, "modeling_dream"), official_module(folder, "generation_utils")
