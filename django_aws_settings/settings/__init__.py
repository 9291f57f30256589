"""Code that runs once, while a settings module loads.

Nothing here imports ``runtime``, ``ops`` or ``cutover``: middleware and storages are
named by dotted-path strings. The public builders are re-exported by the package itself
(``django_aws_settings.configure``...); this package's ``__init__`` stays empty so that
each submodule keeps its own name.
"""
