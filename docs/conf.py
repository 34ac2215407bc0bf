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
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
templates_path = ["_templates"]

numpydoc_show_class_members = False
numpydoc_xref_param_type = False
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
autosummary_generate = True  # a page per function and class, in docs/generated (not committed)

# intersphinx needs the network; the build stays offline, so only the names are kept
intersphinx_mapping = {}

myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3  # links to sections: page.md#a-heading

html_theme = "pydata_sphinx_theme"
html_title = "xpdiff"
html_static_path = ["_static"]
html_css_files = ["benchmarks.css"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
