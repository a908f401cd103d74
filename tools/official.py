"""The official Dream code, imported at run time from a folder holding its
configuration_dream.py, generation_utils.py and modeling_dream.py (ZHZisZZ/dllm
`dllm/pipelines/dream/models/`); nothing of it is copied into this repository. Shared by
scripts/bench_vs_official.py and tools/demo-model/make_fixture.py."""

import importlib
import os
import sys
import tempfile


def load_official(folder):
    """(modeling_dream, generation_utils) of `folder`, as a package named `official_dream`
    (its modules import each other relatively)."""
    root = tempfile.mkdtemp()
    os.symlink(os.path.abspath(folder), os.path.join(root, "official_dream"))
    sys.path.insert(0, root)
    return importlib.import_module("official_dream.modeling_dream"), importlib.import_module("official_dream.generation_utils")
