"""Sphinx configuration for the xpdiff documentation (built with -W in CI)."""

import xpdiff

project = "xpdiff"
author = "The xpdiff developers"
copyright = "2026, The xpdiff developers"
release = xpdiff.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

numpydoc_show_class_members = False
numpydoc_xref_param_type = False
autodoc_typehints = "none"

# intersphinx needs the network; the build stays offline, so only the names are kept
intersphinx_mapping = {}

myst_enable_extensions = ["colon_fence"]

html_theme = "pydata_sphinx_theme"
html_title = "xpdiff"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
