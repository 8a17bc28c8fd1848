"""Sphinx configuration of the crash_core documentation.

Build: ``pip install -e ".[docs]"`` then ``python -m sphinx -W -b html docs DIR``.  The
course's examples in ``examples/`` run at build time (sphinx-gallery) and their figures
are embedded; the API reference is generated from the numpydoc docstrings.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")  # the build draws off-screen

import crash_core  # noqa: E402

project = "crash_core"
author = "the crash_core authors"
copyright = "crash_core authors, BSD-3-Clause"
release = version = crash_core.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "**.ipynb_checkpoints", "auto_examples/*.ipynb"]

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_typehints = "none"  # numpydoc renders the parameters from the docstrings
numpydoc_show_class_members = False
numpydoc_validation_checks: set[str] = set()

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "image_scrapers": ("matplotlib",),
    "show_memory": False,
}

myst_heading_anchors = 3
html_theme = "alabaster"
html_title = f"crash_core {release}"
html_static_path: list[str] = []


def _list_the_contract(app, docname, source):
    """Put the public contract (docs/contract.rst, written on its own) in the index's
    reference section when the page exists; the guide's pages come in by a glob."""
    if docname == "index" and (Path(app.srcdir) / "contract.rst").exists():
        source[0] = source[0].replace("\n   api\n", "\n   api\n   contract\n", 1)


def setup(app):
    app.connect("source-read", _list_the_contract)
