"""The catalogs as package data: pyproject.toml installs this folder as ``costmodel.data``.

Nothing to import here; ``costmodel.catalog`` reads the files through
``importlib.resources.files("costmodel.data")``.
"""
