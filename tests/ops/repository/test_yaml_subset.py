"""The YAML subset reader: what heroku.yml and render.yaml use, and clear refusals."""

from __future__ import annotations

import textwrap

import pytest

from django_aws_settings.ops.repository.yaml_subset import YamlError, load_yaml


def load(text: str) -> object:
    return load_yaml(textwrap.dedent(text))


def test_heroku_yml_shape() -> None:
    assert load(
        """
        build:
          docker:
            web: Dockerfile   # the image Heroku builds
          config:
            DJANGO_SETTINGS_MODULE: site.settings.production
        release:
          image: web
          command:
            - ./manage.py migrate
            - ./manage.py createcachetable
        run:
          web: uwsgi --http :$PORT --module site.wsgi
          worker:
            command:
            - celery -A site worker
            image: web
        """
    ) == {
        "build": {
            "docker": {"web": "Dockerfile"},
            "config": {"DJANGO_SETTINGS_MODULE": "site.settings.production"},
        },
        "release": {
            "image": "web",
            "command": ["./manage.py migrate", "./manage.py createcachetable"],
        },
        "run": {
            "web": "uwsgi --http :$PORT --module site.wsgi",
            "worker": {"command": ["celery -A site worker"], "image": "web"},
        },
    }


def test_render_yaml_shape_with_flow_collections() -> None:
    assert load(
        """
        ---
        services:
          - type: web
            name: "api"
            numInstances: 2
            autoDeploy: false
            envVars:
              - key: DATABASE_URL
                fromDatabase: {name: db, property: connectionString}
              - key: ALLOWED
                value: 'a, b'
            domains: [example.com, "www.example.com"]
          - type: redis
            ipAllowList: []
        """
    ) == {
        "services": [
            {
                "type": "web",
                "name": "api",
                "numInstances": 2,
                "autoDeploy": False,
                "envVars": [
                    {
                        "key": "DATABASE_URL",
                        "fromDatabase": {"name": "db", "property": "connectionString"},
                    },
                    {"key": "ALLOWED", "value": "a, b"},
                ],
                "domains": ["example.com", "www.example.com"],
            },
            {"type": "redis", "ipAllowList": []},
        ]
    }


def test_block_scalars_literal_and_folded() -> None:
    assert load(
        """
        literal: |
          pip install -r requirements.txt
          python manage.py collectstatic
        folded: >-
          gunicorn app.wsgi
          --workers 2
        kept: done
        """
    ) == {
        "literal": "pip install -r requirements.txt\npython manage.py collectstatic\n",
        "folded": "gunicorn app.wsgi --workers 2",
        "kept": "done",
    }


def test_plain_scalar_continued_on_more_indented_lines() -> None:
    assert load(
        """
        startCommand: gunicorn app.wsgi
          --timeout 30
        next: 1
        """
    ) == {"startCommand": "gunicorn app.wsgi --timeout 30", "next": 1}


def test_scalars_keep_hashes_inside_quotes_and_read_escapes() -> None:
    assert load(
        """
        a: "x # not a comment"
        b: 'it''s'
        c: "tab\\there"
        d: value#no-space-so-content
        e: ~
        f:
        """
    ) == {
        "a": "x # not a comment",
        "b": "it's",
        "c": "tab\there",
        "d": "value#no-space-so-content",
        "e": None,
        "f": None,
    }


def test_empty_document_is_none() -> None:
    assert load("# only a comment\n") is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("a: &anchor 1\nb: *anchor\n", "line 1: '&'"),
        ("a: !!str 1\n", "line 1: '!'"),
        ("a: 1\n---\nb: 2\n", "line 2: only one YAML document"),
        ("a: 1\na: 2\n", "line 2: duplicate key 'a'"),
        ("a:\n\tb: 1\n", "line 2: tabs"),
        ('a: "unclosed\n', "line 1: multi-line or unclosed"),
        ("a: 1\n   b: 2\n", "line 2: unexpected indentation"),
        ("a: [1, 2\n", "line 1: unclosed flow collection"),
        ("? complex\n", "line 1: complex keys"),
    ],
)
def test_outside_the_subset_is_refused_with_the_line(text: str, reason: str) -> None:
    with pytest.raises(YamlError) as raised:
        load_yaml(text)
    assert str(raised.value).startswith(reason)
