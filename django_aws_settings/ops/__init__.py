"""Operator and CI commands that run outside any Django process: the ``django-aws`` CLI
(``ecs render|register|run-task|deploy``, ``config import``, ``queues publish-depth``,
``cutover check-source``, ``inspect``), and ``repository/``, the stdlib-only reader of what
a repository states that ``inspect`` and the Copier template share."""
