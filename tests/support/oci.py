"""Real OCI images without Docker: Debian's buildah builds them, podman runs them.

The recipe is /work/shared/notes/oci-build.md. No container registry is reachable here, so
`python:3.11-slim-bookworm` is a stand-in made by mmdebstrap from the machine's own Debian
mirror and committed under the exact name Docker Hub would give it; builds never pull.
`python:3.13-slim-bookworm` is one too, made the same way from Debian trixie (13), whose
python3 is 3.13: bookworm has no 3.13. That is a fair stand-in: the official image is not
Debian's Python either (it bundles its own CPython built on bookworm), and the generated
Dockerfile only needs a `python` with headers, venv and pip, and apt-get for the libraries
its packages build with and load (the native package table's names all exist in trixie
but libgdal32, trixie's being libgdal36; async_service, the 3.13 build, needs none). All
container state lives in one folder (`.cache/oci/` in the checkout, gitignored), shared by
every test session and every `./dev test` of this checkout, so the base image and the
build's layer cache survive between runs. The package itself is not on an index: its wheel
is served from loopback (`Oci.wheel_server`) and the image's requirements name it by URL.

Entry point: `Oci.prepare()` (the `oci` fixture), then `build_image`, `image_files`,
`run_container`. Nothing here changes `os.environ`: the storage settings are passed to each
buildah/podman call.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import http.server
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Literal, NamedTuple, overload

from .processes import LOOPBACK, NAME_PREFIX, file_lock, pid_alive, running_as_root, unique_name

REPOSITORY = Path(__file__).resolve().parents[2]
# Override with DASTEST_OCI_ROOT (for instance a roomier disk); the default survives runs.
DEFAULT_ROOT = Path(os.environ.get("DASTEST_OCI_ROOT", REPOSITORY / ".cache" / "oci"))

TOOLS = ("buildah", "podman", "runc", "mmdebstrap")
# Bump when the base image recipe below changes: the stand-ins are rebuilt on next use.
RECIPE_VERSION = "2"
# Debian bookworm's python3 is 3.11.2: the default stand-in, the closest to the real image.
BASE_PYTHON = "3.11"
# The python:<version>-slim-bookworm images we can fake: the Debian suite whose python3 has
# that version. Trixie's 3.13 is the only Python >= 3.12 Debian ships (see the docstring).
STAND_IN_SUITES = {BASE_PYTHON: "bookworm", "3.13": "trixie"}
# Bump when what only the stand-ins other than bookworm's get changes (bookworm's stamp
# stays what it always was, so its cached image stays valid).
SUITE_RECIPE_VERSION = "1"
# Tools that bring their own CA roots (uv: rustls with webpki's) read this one, the system
# bundle that holds the host's CAs: the stand-ins other than bookworm's set it when the host
# adds CAs (an egress proxy's). Bookworm's never did, and needs it for no build it makes.
_SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
# python.org's image ships Python's headers (it builds Python from source), so a Dockerfile
# that only adds gcc and libpq-dev compiles psycopg2 there: libpython3-dev puts them here.
BASE_PACKAGES = ("python3", "python3-venv", "python3-pip", "libpython3-dev", "ca-certificates")
# What python:<v>-slim-bookworm has and a newer suite's apt variant leaves out: trixie's
# login is no longer Essential, so nothing pulls in passwd (useradd, which the generated
# Dockerfile runs).
SUITE_PACKAGES = {"trixie": ("passwd",)}
RECIPE_LABEL = "dastest.oci-recipe"

BUILD_TIMEOUT = 1200.0
RUN_TIMEOUT = 300.0
LOG_TAIL_LINES = 60
# 1980-01-01, the earliest time a zip (a wheel) can hold: wheels and served files get it,
# so the same content always gives the same bytes, URLs and layers.
_FIXED_MTIME = 315532800

# What python:<v>-slim-bookworm and debian:bookworm-slim leave out (dpkg path excludes).
_SLIM_DPKG_OPTIONS = (
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/locale/*",
    "path-exclude=/usr/share/lintian/*",
)
_HOST_CA_DIR = Path("/usr/local/share/ca-certificates")
_APT_DIR = Path("/etc/apt")
_DEBIAN_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
_DOWNLOAD_OPTION = re.compile(
    r"^\s*Acquire::(?:\S+::)?(?:Proxy|Check-Valid-Until|Check-Date|CaInfo|Verify-Peer)\b",
    re.MULTILINE | re.IGNORECASE,
)


class OciError(RuntimeError):
    """A tool is missing or a build, image or container command failed."""


# ------------------------------------------------------------------------------ tools


def ensure_tools() -> None:
    """Install buildah, podman, runc and mmdebstrap with apt-get when any is missing.

    Never skips: without root, or when apt-get fails, this raises with apt's output.
    `./dev test` installs them up front, so this is normally a few `which` calls.
    """
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if not missing:
        return
    if not running_as_root():
        raise OciError(
            f"missing {', '.join(missing)}: run `./dev test` as root, or "
            f"`apt-get install -y {' '.join(TOOLS)}`"
        )
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends"]
    install += ["-o", "DPkg::Lock::Timeout=300", *TOOLS]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    result = _run(install, env=env, timeout=900)
    if result.returncode != 0:  # stale package lists: refresh once
        _run(["apt-get", "update", "-q", "-o", "DPkg::Lock::Timeout=300"], env=env, timeout=600)
        result = _run(install, env=env, timeout=900)
    still_missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if result.returncode != 0 or still_missing:
        raise OciError(f"could not install {' '.join(TOOLS)}:\n{_tail(result.output)}")


class _Result(NamedTuple):
    returncode: int
    output: str


def _run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    timeout: float,
    cwd: Path | None = None,
) -> _Result:
    """Run a command, stdout and stderr merged; on timeout kill its whole process group
    (buildah's RUN steps and podman's children included) and raise."""
    process = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        out, _ = process.communicate()
        raise OciError(
            f"timed out after {timeout:.0f} s: {' '.join(argv)}\n"
            f"{_tail(out.decode(errors='replace'))}"
        ) from None
    return _Result(process.returncode, out.decode(errors="replace"))


def _tail(output: str, lines: int = LOG_TAIL_LINES) -> str:
    return "\n".join(output.rstrip().splitlines()[-lines:])


# ---------------------------------------------------------------------------- storage


def _toml_string(value: object) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _write_atomically(path: Path, text: str) -> None:
    """Another session may be reading the same file: it sees the old or the new text."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(text)
    os.replace(temporary, path)


def write_storage_config(root: Path) -> dict[str, str]:
    """Write storage.conf, containers.conf and registries.conf under `root`; return the
    environment that points buildah and podman at them (and at nothing system-wide)."""
    root.mkdir(parents=True, exist_ok=True)
    _write_atomically(
        root / "storage.conf",
        "[storage]\n"
        'driver = "overlay"\n'
        f"graphroot = {_toml_string(root / 'storage')}\n"
        f"runroot = {_toml_string(root / 'run')}\n",
    )
    # runc, not crun, and limits below the host's: the sandbox lacks CAP_SYS_RESOURCE, so
    # inheriting the host's limits fails with "setrlimit ... operation not permitted".
    # cgroupfs and file events: there is no systemd here; k8s-file keeps `podman logs`.
    _write_atomically(
        root / "containers.conf",
        "[containers]\n"
        'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n'
        'log_driver = "k8s-file"\n'
        "[engine]\n"
        'runtime = "runc"\n'
        'cgroup_manager = "cgroupfs"\n'
        'events_logger = "file"\n'
        f"tmp_dir = {_toml_string(root / 'libpod-tmp')}\n",
    )
    # Short names resolve as Docker resolves them (docker.io/library/...), which is the
    # name the stand-in is committed under; nothing is ever pulled (--pull=never).
    _write_atomically(
        root / "registries.conf",
        'unqualified-search-registries = ["docker.io"]\nshort-name-mode = "permissive"\n',
    )
    return {
        "CONTAINERS_STORAGE_CONF": str(root / "storage.conf"),
        "CONTAINERS_CONF": str(root / "containers.conf"),
        "CONTAINERS_REGISTRIES_CONF": str(root / "registries.conf"),
        "BUILDAH_ISOLATION": "chroot",
    }


# ------------------------------------------------------------------------ base image


def base_image_name(python_version: str = BASE_PYTHON) -> str:
    return f"docker.io/library/python:{python_version}-slim-bookworm"


def _host_debian_sources() -> list[Path]:
    """The host's enabled bookworm apt sources that only need Debian's own keyring (the
    rootfs has that one): the mirror, and whatever snapshot or proxy it is, stays the same."""
    candidates = [_APT_DIR / "sources.list"]
    directory = _APT_DIR / "sources.list.d"
    if directory.is_dir():
        candidates += sorted(directory.glob("*.list")) + sorted(directory.glob("*.sources"))
    sources = []
    for path in candidates:
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        lines = [line.strip() for line in text.splitlines()]
        if not any(line.startswith(("deb ", "Types:")) for line in lines):
            continue
        keyrings = re.findall(r"(?:Signed-By:|signed-by=)\s*([^\s\]]+)", text, re.IGNORECASE)
        if "bookworm" in text and all(key == _DEBIAN_KEYRING for key in keyrings):
            sources.append(path)
    return sources


def _suite_sources(suite: str) -> dict[str, str]:
    """The host's bookworm sources (file name -> text), moved to `suite`: the same mirror,
    `bookworm-updates` and `bookworm-security` becoming the suite's own."""
    return {
        path.name: re.sub(r"\bbookworm\b", suite, path.read_text(errors="replace"))
        for path in _host_debian_sources()
    }


def _host_apt_options() -> list[Path]:
    """The host's apt.conf.d files that say how to download: a proxy, TLS trust, or
    accepting an old snapshot's Release files."""
    directory = _APT_DIR / "apt.conf.d"
    if not directory.is_dir():
        return []
    return [
        path
        for path in sorted(directory.iterdir())
        if path.is_file() and _DOWNLOAD_OPTION.search(path.read_text(errors="replace"))
    ]


def _host_ca_certificates() -> list[Path]:
    """The host's locally added CAs (an egress proxy's, for one): pip in the build must
    trust what the host trusts."""
    if not _HOST_CA_DIR.is_dir():
        return []
    return sorted(path for path in _HOST_CA_DIR.rglob("*.crt") if path.is_file())


def _recipe_stamp(suite: str = "bookworm") -> str:
    """Changes with the recipe and with the host inputs the image copies (bookworm's is
    the one it always was: its cached stand-in stays valid)."""
    digest = hashlib.sha256(RECIPE_VERSION.encode())
    if suite != "bookworm":
        packages = ",".join(SUITE_PACKAGES.get(suite, ()))
        digest.update(f"suite={suite}\0{SUITE_RECIPE_VERSION}\0{packages}\0".encode())
    for path in [*_host_debian_sources(), *_host_apt_options(), *_host_ca_certificates()]:
        digest.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
    return f"{RECIPE_VERSION}-{digest.hexdigest()[:16]}"


def _mmdebstrap_command(target: Path, staging: Path, suite: str = "bookworm") -> list[str]:
    certificates = _host_ca_certificates()
    staged = []
    for index, path in enumerate(certificates):
        copy = staging / f"host-{index:02d}-{path.name}"
        shutil.copyfile(path, copy)
        staged.append(str(copy))
    command = [
        "mmdebstrap",
        "--mode=root",
        "--variant=apt",
        "--format=tar",
        f"--include={','.join((*BASE_PACKAGES, *SUITE_PACKAGES.get(suite, ())))}",
        *(f"--dpkgopt={option}" for option in _SLIM_DPKG_OPTIONS),
        *(f"--aptopt={path}" for path in _host_apt_options()),
    ]
    if staged:
        command += [
            '--customize-hook=mkdir -p "$1/usr/local/share/ca-certificates"',
            f"--customize-hook=copy-in {' '.join(staged)} /usr/local/share/ca-certificates/",
            '--customize-hook=chroot "$1" update-ca-certificates',
        ]
    command += [
        '--customize-hook=ln -sf /usr/bin/python3 "$1/usr/local/bin/python"',
        '--customize-hook=ln -sf /usr/bin/python3 "$1/usr/local/bin/python3"',
        # python.org's image lets pip install outside a venv; Debian's marks it external.
        '--customize-hook=rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED',
    ]
    if suite == "bookworm":
        sources = [str(path) for path in _host_debian_sources()]
    else:  # the host's mirror, its sources moved to the suite (kept as the rootfs's own)
        sources = []
        for name, text in _suite_sources(suite).items():
            moved = staging / "sources" / name
            moved.parent.mkdir(exist_ok=True)
            moved.write_text(text)
            sources.append(str(moved))
    return [*command, suite, str(target), *sources]


# ------------------------------------------------------------------------ wheel server


@dataclasses.dataclass
class WheelServer:
    """A loopback HTTP server over `directory`; builds reach it with `--network host`.

    Each file is served under a folder named by its content hash, so a URL in the build
    (a requirements line, a build argument) changes exactly when the file does: the layer
    cache reuses `pip install` across sessions, and never over a changed wheel."""

    directory: Path
    port: int
    wheel: Path
    paths: dict[str, str]  # name -> path under `directory`

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def url(self, name: str) -> str:
        """The URL of a served file, by the name it was given."""
        return f"{self.base_url}/{self.paths[name]}"

    @property
    def wheel_url(self) -> str:
        return self.url(self.wheel.name)

    @property
    def requirement(self) -> str:
        """A requirements line naming this package's wheel by URL."""
        return f"django-aws-settings @ {self.wheel_url}"


def _serve_port(root: Path) -> int:
    """The same loopback port for every session of a checkout while it is free (builds
    then see the same URLs: cache hits), a random one otherwise."""
    digest = hashlib.sha256(str(root).encode()).digest()
    return 20000 + int.from_bytes(digest[:4], "big") % 10000


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


# -------------------------------------------------------------------------- containers


class Completed(NamedTuple):
    """A one-off container's exit status and output (stdout and stderr merged)."""

    exit_code: int
    output: str


class Container:
    """A detached container; as a context manager it is always removed on exit."""

    def __init__(self, oci: Oci, name: str) -> None:
        self.oci = oci
        self.name = name

    def __enter__(self) -> Container:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()

    def logs(self) -> str:
        """Everything the container printed so far, stdout and stderr merged."""
        return self.oci.podman("logs", self.name, timeout=60).output

    def running(self) -> bool:
        state = self.oci.podman("inspect", "--format", "{{.State.Running}}", self.name)
        return state.output.strip() == "true"

    def exec(self, command: Sequence[str], *, timeout: float = RUN_TIMEOUT) -> Completed:
        """Run a command beside the main process (`podman exec`)."""
        result = self.oci.podman("exec", self.name, *command, timeout=timeout, check=False)
        return Completed(result.returncode, result.output)

    def wait(self, *, timeout: float = RUN_TIMEOUT) -> int:
        """Wait for the main process to exit by itself; its exit status."""
        return int(self.oci.podman("wait", self.name, timeout=timeout).output.split()[-1])

    def stop(self, *, grace: int = 30) -> int:
        """`podman stop`: SIGTERM (or the image's STOPSIGNAL), SIGKILL after `grace`
        seconds; returns the main process's exit status (137 means it was killed)."""
        self.oci.podman("stop", "--time", str(grace), self.name, timeout=grace + 60)
        return self.wait(timeout=60)

    def remove(self) -> None:
        """Kill if still running, and delete; idempotent."""
        self.oci.podman(
            "rm", "--force", "--ignore", "--time", "0", self.name, timeout=120, check=False
        )


# ------------------------------------------------------------------------------ engine


class Oci:
    """buildah and podman pointed at one storage folder (see `Oci.prepare`)."""

    def __init__(self, root: Path = DEFAULT_ROOT) -> None:
        self.root = root
        self.env = {**os.environ, **write_storage_config(root)}
        self._wheel_dir: Path | None = None

    @classmethod
    def prepare(cls, root: Path = DEFAULT_ROOT) -> Oci:
        """Install the tools if missing, set up the storage, and remove containers that
        killed sessions left behind. The base image is built on first `base_image()`."""
        ensure_tools()
        oci = cls(root)
        oci.remove_stale_containers()
        return oci

    def close(self) -> None:
        """Delete this session's wheel folder (images and layers stay cached)."""
        if self._wheel_dir is not None:
            shutil.rmtree(self._wheel_dir, ignore_errors=True)
            self._wheel_dir = None

    # ---------------------------------------------------------------- raw commands

    def _tool(
        self, tool: str, args: Sequence[str], timeout: float, check: bool, cwd: Path | None
    ) -> _Result:
        result = _run([tool, *args], env=self.env, timeout=timeout, cwd=cwd)
        if check and result.returncode != 0:
            raise OciError(
                f"{tool} {' '.join(args)} exited {result.returncode}:\n{_tail(result.output)}"
            )
        return result

    def buildah(
        self, *args: str, timeout: float = 300, check: bool = True, cwd: Path | None = None
    ) -> _Result:
        return self._tool("buildah", args, timeout, check, cwd)

    def podman(
        self, *args: str, timeout: float = 300, check: bool = True, cwd: Path | None = None
    ) -> _Result:
        return self._tool("podman", args, timeout, check, cwd)

    def image_exists(self, name: str) -> bool:
        return self.podman("image", "exists", name, check=False).returncode == 0

    def remove_image(self, name: str) -> None:
        """Untag and delete an image (its layers stay if the build cache still uses them)."""
        self.podman("rmi", "--force", "--ignore", name, check=False)

    def remove_stale_containers(self) -> list[str]:
        """Remove containers named by sessions whose process is gone (`dastest_<pid>_...`)."""
        names = self.podman("ps", "--all", "--format", "{{.Names}}").output.split()
        stale = re.compile(rf"^{NAME_PREFIX}_(\d+)_")
        removed = []
        for name in names:
            match = stale.match(name)
            if match and not pid_alive(int(match.group(1))):
                self.podman("rm", "--force", "--time", "0", name, check=False)
                removed.append(name)
        return removed

    # ------------------------------------------------------------------- base image

    def base_image(self, python_version: str = BASE_PYTHON) -> str:
        """The stand-in for `python:<python_version>-slim-bookworm` (3.11: bookworm's
        python3; 3.13: trixie's), built on first use (a minute or two) and again only when
        the recipe or the host's mirror or CAs change; returns its full name, under which
        `FROM` finds it."""
        suite = STAND_IN_SUITES.get(python_version)
        if suite is None:
            versions = " and ".join(STAND_IN_SUITES)
            raise OciError(
                f"python:{python_version}-slim-bookworm is not available here: the stand-ins "
                f"are Debian's own python3 (bookworm's 3.11, trixie's 3.13), so only "
                f"python_version {versions} build for real"
            )
        name = base_image_name(python_version)
        stamp = _recipe_stamp(suite)
        with file_lock(self.root / "base-image.lock"):
            if self._image_label(name, RECIPE_LABEL) != stamp:
                self._build_base_image(name, stamp, suite)
        return name

    def _image_label(self, name: str, label: str) -> str | None:
        if not self.image_exists(name):
            return None
        template = f'{{{{ index .Labels "{label}" }}}}'
        return self.podman("image", "inspect", "--format", template, name).output.strip()

    def _build_base_image(self, name: str, stamp: str, suite: str = "bookworm") -> None:
        work = self.root / "work"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        rootfs = work / "rootfs.tar"
        try:
            debootstrap = _run(
                _mmdebstrap_command(rootfs, work, suite), env=os.environ, timeout=1200, cwd=work
            )
            if debootstrap.returncode != 0:
                raise OciError(f"mmdebstrap failed:\n{_tail(debootstrap.output)}")
            previous = self.image_config(name, "{{.Id}}") if self.image_exists(name) else None
            extra_env = []
            if suite != "bookworm" and _host_ca_certificates():
                extra_env = ["--env", f"SSL_CERT_FILE={_SYSTEM_CA_BUNDLE}"]
            container = unique_name("base")
            self.buildah("from", "--name", container, "scratch")
            try:
                self.buildah("add", container, str(rootfs), "/", timeout=600)
                self.buildah(
                    "config",
                    "--env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "--env", "LANG=C.UTF-8",
                    "--env", f"PYTHON_VERSION={self._debian_python(container)}",
                    *extra_env,
                    "--cmd", "python3",
                    "--label", f"{RECIPE_LABEL}={stamp}",
                    container,
                )  # fmt: skip
                self.buildah("commit", "--format", "docker", "--rm", container, name, timeout=600)
            except BaseException:
                self.buildah("rm", container, check=False)
                raise
            if previous is not None:  # now untagged; kept only if cached layers use it
                self.podman("rmi", previous, check=False)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _debian_python(self, container: str) -> str:
        """The exact Python version inside the stand-in (python's image sets it as ENV)."""
        mount = self.buildah("mount", container).output.strip()
        try:
            status = Path(mount, "var/lib/dpkg/status").read_text(errors="replace")
        finally:
            self.buildah("umount", container, check=False)
        match = re.search(
            r"^Package: python3\.\d+-minimal\n(?:.+\n)*?Version: (\d+\.\d+\.\d+)", status, re.M
        )
        if match is None:
            raise OciError("no python3.X-minimal package in the stand-in")
        return match.group(1)

    # ------------------------------------------------------------------------ wheels

    def package_wheel(self) -> Path:
        """This checkout's wheel (`pip wheel --no-deps .`), built once per session."""
        if self._wheel_dir is None:
            self._wheel_dir = Path(tempfile.mkdtemp(prefix=f"{NAME_PREFIX}-wheels-"))
            result = _run(
                [
                    sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "--wheel-dir", str(self._wheel_dir), str(REPOSITORY),
                ],
                env={**os.environ, "SOURCE_DATE_EPOCH": str(_FIXED_MTIME)},  # same code, same wheel
                timeout=300,
            )  # fmt: skip
            if result.returncode != 0:
                shutil.rmtree(self._wheel_dir, ignore_errors=True)
                self._wheel_dir = None
                raise OciError(f"pip wheel failed:\n{_tail(result.output)}")
        return _only(self._wheel_dir.glob("django_aws_settings-*.whl"))

    @contextlib.contextmanager
    def wheel_server(
        self, extra_files: Mapping[str, bytes | Path] | None = None
    ) -> Iterator[WheelServer]:
        """Serve this package's wheel and `extra_files` (name -> content or file, e.g. a
        stand-in RDS CA bundle) over HTTP on a free loopback port, for the length of the
        block. Give the build `server.requirement` and `server.url(name)`."""
        wheel = self.package_wheel()
        with tempfile.TemporaryDirectory(prefix=f"{NAME_PREFIX}-serve-") as folder:
            directory = Path(folder)
            files: dict[str, bytes] = {wheel.name: wheel.read_bytes()}
            for name, content in (extra_files or {}).items():
                files[name] = content.read_bytes() if isinstance(content, Path) else content
            paths = {}
            for name, data in files.items():
                paths[name] = f"{hashlib.sha256(data).hexdigest()[:16]}/{name}"
                target = directory / paths[name]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                # ADD <url> stamps the file with Last-Modified: a fixed one keeps the layer.
                os.utime(target, (_FIXED_MTIME, _FIXED_MTIME))
            handler = functools.partial(_QuietHandler, directory=str(directory))
            try:
                server = http.server.ThreadingHTTPServer(
                    (LOOPBACK, _serve_port(self.root)), handler
                )
            except OSError:  # another session serves there
                server = http.server.ThreadingHTTPServer((LOOPBACK, 0), handler)
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            try:
                port = int(server.server_address[1])
                yield WheelServer(directory, port, directory / paths[wheel.name], paths)
            finally:
                server.shutdown()
                server.server_close()
                thread.join(timeout=10)

    # ------------------------------------------------------------------------ builds

    def build_image(
        self,
        context: Path,
        dockerfile: Path,
        tag: str,
        *,
        ignorefile: Path | None = None,
        build_args: Mapping[str, str] | None = None,
        timeout: float = BUILD_TIMEOUT,
    ) -> str:
        """`buildah bud` as `docker build -f <dockerfile> <context>` would: layer cache on,
        host network (the wheel server is on loopback), never pulling (`FROM python:3.11-…`
        is the stand-in: call `base_image()` first). Returns the image id; raises OciError
        with the last 60 lines of the build output."""
        command = [
            "bud",
            "--isolation", "chroot",
            "--layers",
            "--force-rm",  # a failed step's working container too
            "--network", "host",
            "--pull=never",
            "--format", "docker",
            "--file", str(dockerfile),
            "--tag", tag,
        ]  # fmt: skip
        if ignorefile is not None:
            command += ["--ignorefile", str(ignorefile)]
        for name, value in (build_args or {}).items():
            command += ["--build-arg", f"{name}={value}"]
        previous = self.image_config(tag, "{{.Id}}") if self.image_exists(tag) else None
        with tempfile.TemporaryDirectory(prefix=f"{NAME_PREFIX}-build-") as folder:
            iidfile = Path(folder) / "iid"
            command += ["--iidfile", str(iidfile), str(context)]
            result = self.buildah(*command, timeout=timeout, check=False, cwd=context)
            if result.returncode != 0 or not iidfile.exists():
                raise OciError(
                    f"build of {tag} from {dockerfile} failed ({result.returncode}); "
                    f"last {LOG_TAIL_LINES} lines:\n{_tail(result.output)}"
                )
            image_id = iidfile.read_text().strip().removeprefix("sha256:")
        if previous is not None and previous != image_id:
            # The image this tag replaced, and the layers only it used: otherwise every
            # session (a new wheel, a new loopback port) leaves a few hundred MB behind.
            self.podman("rmi", previous, check=False)
        return image_id

    def image_files(self, tag: str) -> set[str]:
        """Every path in the image (files, directories, links), absolute: `/app/manage.py`.

        Read from the image's mounted root filesystem, so nothing runs inside it."""
        mount = Path(self.podman("image", "mount", tag).output.strip().splitlines()[-1])
        try:
            paths = set()
            for directory, subdirectories, files in os.walk(mount):
                relative = "/" + os.path.relpath(directory, mount)
                relative = "/" if relative == "/." else relative
                for entry in [*subdirectories, *files]:
                    paths.add(f"{relative.rstrip('/')}/{entry}")
            return paths
        finally:
            self.podman("image", "unmount", tag, check=False)

    def image_config(self, tag: str, field: str) -> str:
        """One field of `podman image inspect` as a Go template, e.g. `{{.Config.User}}`."""
        return self.podman("image", "inspect", "--format", field, tag).output.strip()

    # -------------------------------------------------------------------- containers

    @overload
    def run_container(
        self,
        tag: str,
        command: Sequence[str] | None = ...,
        env: Mapping[str, str] | None = ...,
        *,
        detach: Literal[True],
        user: str | None = ...,
        options: Sequence[str] = ...,
        timeout: float = ...,
    ) -> Container: ...

    @overload
    def run_container(
        self,
        tag: str,
        command: Sequence[str] | None = ...,
        env: Mapping[str, str] | None = ...,
        *,
        detach: Literal[False] = ...,
        user: str | None = ...,
        options: Sequence[str] = ...,
        timeout: float = ...,
    ) -> Completed: ...

    def run_container(
        self,
        tag: str,
        command: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        *,
        detach: bool = False,
        user: str | None = None,
        options: Sequence[str] = (),
        timeout: float = RUN_TIMEOUT,
    ) -> Container | Completed:
        """`podman run` as ECS runs the task: host network, read-only root filesystem
        with only /tmp writable (a tmpfs, the task's one volume), the image's own user
        unless `user` is given, `command` replacing CMD when given (ECS's `command`).

        `detach=True` returns a running `Container` (use it as a context manager so it is
        always removed); otherwise waits up to `timeout` seconds and returns
        `Completed(exit_code, output)`, the container removed. `options` are extra
        `podman run` flags (say `--volume` or `--stop-signal`)."""
        name = unique_name("run")
        argv = [
            "run",
            "--name", name,
            "--network", "host",
            "--read-only",
            "--read-only-tmpfs=false",
            "--tmpfs", "/tmp:rw,mode=1777",
            "--pull=never",
        ]  # fmt: skip
        if user is not None:
            argv += ["--user", user]
        for key, value in (env or {}).items():
            argv += ["--env", f"{key}={value}"]
        argv += list(options)
        if detach:
            self.podman(*argv, "--detach", tag, *(command or ()), timeout=timeout)
            return Container(self, name)
        try:
            result = self.podman(*argv, tag, *(command or ()), timeout=timeout, check=False)
        finally:
            self.podman("rm", "--force", "--ignore", "--time", "0", name, check=False)
        return Completed(result.returncode, result.output)


def _only(paths: Iterator[Path]) -> Path:
    found = list(paths)
    if len(found) != 1:
        raise OciError(f"expected one wheel, found {found}")
    return found[0]
