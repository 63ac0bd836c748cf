"""Sphinx settings of the course's website, built by ``python -m mnist_helpers site`` (see ../site.py).

The pages are the committed notebooks rendered by myst-nb with their stored outputs (never
executed), in sphinx-book-theme: navigation, offline search, dark mode, a phone layout.
"""

project = html_title = "MNIST with PyTorch"
extensions = ["myst_nb"]
nb_execution_mode = "off"  # the stored outputs, those the tests check; nothing is run
exclude_patterns = ["_student"]  # the student notebooks offered for download, not pages
html_theme = "sphinx_book_theme"
html_theme_options = {"home_page_in_toc": True, "use_download_button": False, "show_navbar_depth": 1}
html_copy_source = False  # no copy of the teacher's notebooks (with their solutions) in the site
html_show_sourcelink = False
html_use_index = False  # no index entries: no empty index page
