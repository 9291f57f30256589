"""The static scan of the variables settings read at import: every spelling, required or not."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from django_aws_settings.ops.repository.settings_scan import EnvironmentVariable, scan_settings

RepoFactory = Callable[[Mapping[str, str | bytes]], Path]  # the make_repo fixture


def required_by_name(make_repo: RepoFactory, source: str) -> dict[str, bool]:
    root = make_repo({"proj/__init__.py": "", "proj/settings.py": source})
    scan = scan_settings(root, root, ["proj.settings"])
    return {variable.name: variable.required for variable in scan.variables}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('import os\nA = os.environ["A"]\n', {"A": True}),
        (
            'import os\nA = os.environ.get("A")\nB = os.environ.get("B", "x")\n',
            {"A": False, "B": False},
        ),
        ('import os\nA = os.getenv("A")\nB = os.getenv("B", "1")\n', {"A": False, "B": False}),
        ('import os\nif "A" in os.environ:\n    pass\n', {"A": False}),
        ('import os\nos.environ.setdefault("A", "1")\n', {"A": False}),
        ('import os as o\nA = o.environ["A"]\n', {"A": True}),
        (
            'from os import environ, getenv\nA = environ["A"]\nB = getenv("B")\n',
            {"A": True, "B": False},
        ),
        ("import os\nA = os.environ[NAME]\n", {}),
    ],
)
def test_os_environ_spellings(
    make_repo: RepoFactory, source: str, expected: dict[str, bool]
) -> None:
    assert required_by_name(make_repo, source) == expected


DJANGO_ENVIRON = """
import environ

env = environ.Env(DEBUG=(bool, False), HOSTS=(list,))
environ.Env.read_env()
env.read_env(".env")

SECRET_KEY = env("SECRET_KEY")
DEBUG = env("DEBUG")
HOSTS = env("HOSTS")
TZ = env("TZ", default="UTC")
CAST = env("CAST", bool)
A = env.str("A")
B = env.bool("B", default=False)
C = env.int("C", 3)
D = env.list("D", default=[])
E = env.db()
F = env.db_url("F_URL", default="sqlite://")
G = env.cache()
H = env.cache_url("H_URL")
I = env.url("I_URL")
J = env.path("J_PATH", default="/tmp")
K = env.json("K_JSON", default={})
L = env.email(default="smtp://")
M = env.float(var="M")
"""


def test_django_environ_spellings(make_repo: RepoFactory) -> None:
    assert required_by_name(make_repo, DJANGO_ENVIRON) == {
        "SECRET_KEY": True,
        "DEBUG": False,  # the scheme gives a default
        "HOSTS": True,  # a scheme without a default
        "TZ": False,
        "CAST": True,  # the second positional of env() is the cast, not a default
        "A": True,
        "B": False,
        "C": False,
        "D": False,
        "DATABASE_URL": True,
        "F_URL": False,
        "CACHE_URL": True,
        "H_URL": True,
        "I_URL": True,
        "J_PATH": False,
        "K_JSON": False,
        "EMAIL_URL": False,
        "M": True,
    }


def test_env_instances_by_any_name_and_imported_from_a_sibling(make_repo: RepoFactory) -> None:
    root = make_repo(
        {
            "proj/settings/__init__.py": "",
            "proj/settings/base.py": "from environ import Env\nsettings_env = Env()\nA = "
            "settings_env('A', default='')\n",
            "proj/settings/production.py": "from .base import *  # noqa\nfrom .base "
            "import settings_env\nB = settings_env.str('B')\n",
        }
    )
    scan = scan_settings(root, root, ["proj.settings.production"])
    assert scan.files == ("proj/settings/base.py", "proj/settings/production.py")
    assert scan.variables == (
        EnvironmentVariable("A", False, ("proj/settings/base.py:3",)),
        EnvironmentVariable("B", True, ("proj/settings/production.py:3",)),
    )


def test_env_file_loads(make_repo: RepoFactory) -> None:
    root = make_repo(
        {
            "proj/settings.py": (
                "import environ\nimport dotenv\nfrom dotenv import load_dotenv\n"
                "environ.Env.read_env()\ndotenv.load_dotenv()\nload_dotenv('.env')\n"
            )
        }
    )
    assert scan_settings(root, root, ["proj.settings"]).env_file_loads == (
        "proj/settings.py:4",
        "proj/settings.py:5",
        "proj/settings.py:6",
    )


DECOUPLE = """
from decouple import Csv, config, AutoConfig
import decouple

A = config("A")
B = config("B", default="")
C = config("C", cast=bool)
D = config("D", "fallback")
E = decouple.config("E")
local = AutoConfig(search_path=".")
F = local("F", default=None, cast=Csv())
G = local("G")
"""


def test_python_decouple_spellings(make_repo: RepoFactory) -> None:
    assert required_by_name(make_repo, DECOUPLE) == {
        "A": True, "B": False, "C": True, "D": False, "E": True, "F": False, "G": True,
    }  # fmt: skip


def test_dj_database_url_config(make_repo: RepoFactory) -> None:
    source = (
        "import dj_database_url\n"
        "A = dj_database_url.config()\n"
        "B = dj_database_url.config(env='OTHER_URL')\n"
    )
    assert required_by_name(make_repo, source) == {"DATABASE_URL": False, "OTHER_URL": False}


GUARDS = """
import os

if "DATABASE_URL" in os.environ:
    DATABASE = os.environ["DATABASE_URL"]
if os.getenv("USE_S3"):
    BUCKET = os.environ["BUCKET"]
    REGION = os.environ["USE_S3"]
try:
    TOKEN = os.environ["TOKEN"]
except KeyError:
    TOKEN = None
try:
    OTHER = os.environ["OTHER"]
except ValueError:
    OTHER = None
HOST = os.environ["HOST"] if "HOST" in os.environ else "localhost"


def later():
    return os.environ["INSIDE_A_FUNCTION"]


class Config:
    LEVEL = os.environ["LEVEL"]
"""


def test_guarded_reads_are_not_required_and_functions_do_not_run(make_repo: RepoFactory) -> None:
    assert required_by_name(make_repo, GUARDS) == {
        "DATABASE_URL": False,
        "USE_S3": False,
        "BUCKET": True,  # guarded by another variable: still read whenever USE_S3 is set
        "TOKEN": False,
        "OTHER": True,
        "HOST": False,
        "LEVEL": True,
    }


def test_one_entry_per_name_required_if_any_read_is(make_repo: RepoFactory) -> None:
    root = make_repo(
        {
            "proj/settings/__init__.py": "",
            "proj/settings/base.py": "import os\nKEY = os.environ.get('KEY', 'dev')\n",
            "proj/settings/prod.py": "import os\nfrom .base import *\nKEY = os.environ['KEY']\n",
        }
    )
    scan = scan_settings(root, root, ["proj.settings.base", "proj.settings.prod"])
    assert scan.variables == (
        EnvironmentVariable("KEY", True, ("proj/settings/base.py:2", "proj/settings/prod.py:3")),
    )


def test_local_imports_are_followed(make_repo: RepoFactory) -> None:
    root = make_repo(
        {
            "config/__init__.py": "",
            "config/settings.py": "from config.env import *\nfrom . import sentry\nimport json\n",
            "config/env.py": "import os\nA = os.environ['A']\n",
            "config/sentry.py": "import os\nDSN = os.getenv('SENTRY_DSN')\n",
        }
    )
    scan = scan_settings(root, root, ["config.settings"])
    assert scan.files == ("config/env.py", "config/sentry.py", "config/settings.py")
    assert [variable.name for variable in scan.variables] == ["A", "SENTRY_DSN"]


def test_unparsable_module_is_reported_not_raised(make_repo: RepoFactory) -> None:
    root = make_repo({"proj/settings.py": "import os\nA = (\n"})
    scan = scan_settings(root, root, ["proj.settings"])
    assert scan.variables == ()
    assert [problem.split(":")[0] for problem in scan.unparsed] == ["proj/settings.py"]
