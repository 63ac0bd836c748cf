"""The course website's Sphinx settings (``conf.py``) and landing page (``index.md``), read by ``../site.py``.

A package only so that a wheel of ``mnist_helpers`` carries them.
"""
