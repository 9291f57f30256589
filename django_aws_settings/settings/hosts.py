"""ALLOWED_HOSTS (plus the ECS task's own private IP) and CSRF_TRUSTED_ORIGINS."""

from __future__ import annotations

import http.client
import ipaddress
import json
import logging
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from .env import Reader, reader

SOURCE_VARIABLES = ("ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS")

METADATA_VARIABLE = "ECS_CONTAINER_METADATA_URI_V4"
DEVELOPMENT_HOSTS = ("localhost", "127.0.0.1", "[::1]")
_MAX_METADATA_BYTES = 1 << 20
# What Django can match against a Host header: a name (a leading dot allows subdomains),
# an IP address (IPv6 in brackets) or "*"; a port is kept for the derived CSRF origins.
_HOST = re.compile(r"(\*|\.?[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?")
# An Origin header is scheme://host[:port]; Django allows "*." in front of the domain only.
_ORIGIN = re.compile(
    r"https?://(\*\.)?([A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?",
    re.IGNORECASE,
)

logger = logging.getLogger(__name__)


def allowed_hosts(
    environ: Mapping[str, str] | None = None, *, metadata_timeout: float = 1.0
) -> list[str]:
    """ALLOWED_HOSTS from the environment, plus this task's private IPs when on ECS.

    In development the loopback names are always allowed. ``'*'`` is refused in production.
    """
    r = reader(environ)
    hosts = r.items("ALLOWED_HOSTS")
    if r.production:
        if not hosts:  # unset, empty or only commas
            r.problem(
                "ALLOWED_HOSTS",
                "is required when DJANGO_ENV=production; expected the comma-separated domain"
                " names the app is served on, such as app.example.com,.example.org",
            )
        if "*" in hosts:
            r.problem(
                "ALLOWED_HOSTS",
                "must not contain '*' when DJANGO_ENV=production (it turns off Host header"
                " validation); list the domain names the app is served on",
            )
    malformed = [host for host in hosts if not _HOST.fullmatch(host)]
    if malformed:
        r.problem(
            "ALLOWED_HOSTS",
            "expected comma-separated host names without scheme, path or spaces, such as"
            " app.example.com or .example.com (every subdomain);"
            f" got {r.shown('ALLOWED_HOSTS', *malformed)}",
        )
    r.raise_if_any()
    if not r.production:
        hosts = [*hosts, *DEVELOPMENT_HOSTS]
    hosts += task_private_ips(r.environ, timeout=metadata_timeout)
    return list(dict.fromkeys(hosts))


def csrf_trusted_origins(environ: Mapping[str, str] | None = None) -> list[str]:
    """CSRF_TRUSTED_ORIGINS from the environment, or https origins derived from ALLOWED_HOSTS.

    Derived: ``app.example.com`` -> ``https://app.example.com``, ``.example.com`` ->
    ``https://*.example.com``; IP addresses are skipped (no certificate names them), and so
    are loopback names in production.
    """
    r = reader(environ)
    origins = r.items("CSRF_TRUSTED_ORIGINS")
    if origins:
        _check_origins(r, origins)
        r.raise_if_any()
        return origins
    r.raise_if_any()
    derived = (
        _origin(host)
        for host in r.items("ALLOWED_HOSTS")
        if host != "*" and not _is_ip(host) and not (r.production and _is_loopback_name(host))
    )
    return list(dict.fromkeys(derived))


def _check_origins(r: Reader, origins: list[str]) -> None:
    """Each origin is what a browser sends: scheme://host[:port], https in production."""
    name = "CSRF_TRUSTED_ORIGINS"
    without_scheme = [origin for origin in origins if "://" not in origin]
    if without_scheme:
        r.problem(
            name,
            "expected origins with a scheme, such as https://app.example.com;"
            f" got {r.shown(name, *without_scheme)}",
        )
    # Django compares the Origin header exactly: a path, a trailing slash or a bare "*"
    # would never match, so the origin would be refused at the first form post.
    malformed = [o for o in origins if "://" in o and not _ORIGIN.fullmatch(o)]
    if malformed and not without_scheme:  # one problem per variable is enough to act on
        r.problem(
            name,
            "expected origins as scheme://host[:port] without path, such as"
            " https://app.example.com or https://*.example.com (every subdomain);"
            f" got {r.shown(name, *malformed)}",
        )
    plain_http = [o for o in origins if o.lower().startswith("http://") and _ORIGIN.fullmatch(o)]
    if plain_http and r.production and not (without_scheme or malformed):
        r.problem(
            name,
            "expected https:// origins when DJANGO_ENV=production (the site is served over"
            f" HTTPS only; an http:// origin trusts forms from plain HTTP); got"
            f" {r.shown(name, *plain_http)}",
        )


def task_private_ips(environ: Mapping[str, str] | None = None, timeout: float = 1.0) -> list[str]:
    """The private IPv4 addresses of this ECS task, from the container metadata endpoint v4.

    An ALB health check targets the task's IP, so its Host header is that IP. Returns []
    when not on ECS; logs a warning (never raises) when the endpoint cannot be read.
    """
    # Read directly: this one variable is set by ECS itself and is never a reference.
    uri = (os.environ if environ is None else environ).get(METADATA_VARIABLE, "").strip()
    if not uri:
        return []
    if not uri.startswith("http://"):
        logger.warning("Ignoring %s: expected an http:// URL", METADATA_VARIABLE)
        return []
    import urllib.request  # only on ECS: not on every settings load elsewhere

    try:
        # ${URI} describes this container; in awsvpc mode its networks are the task's ENI.
        with urllib.request.urlopen(uri, timeout=timeout) as response:  # noqa: S310 - set by ECS
            document = json.loads(response.read(_MAX_METADATA_BYTES))
    except (OSError, ValueError, http.client.HTTPException) as error:
        logger.warning(
            "Could not read the ECS container metadata at %s (%s); the task's private IP"
            " is not added to ALLOWED_HOSTS",
            uri,
            type(error).__name__,
        )
        return []
    ips = list(dict.fromkeys(_ipv4_addresses(document)))
    if not ips:
        logger.warning(
            "The ECS container metadata at %s lists no IPv4 address; the task's private IP"
            " is not added to ALLOWED_HOSTS",
            uri,
        )
    return ips


def _ipv4_addresses(document: Any) -> Iterable[str]:
    """IPv4Addresses of every network, in container (``${URI}``) or task (``/task``) shape."""
    if not isinstance(document, dict):
        return
    containers = document.get("Containers")
    for container in [document, *(containers if isinstance(containers, list) else [])]:
        networks = container.get("Networks") if isinstance(container, dict) else None
        for network in networks if isinstance(networks, list) else []:
            addresses = network.get("IPv4Addresses") if isinstance(network, dict) else None
            for address in addresses if isinstance(addresses, list) else []:
                if isinstance(address, str) and _is_ipv4(address):
                    yield address


def _is_ipv4(value: str) -> bool:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return True


def _name(host: str) -> str:
    """The host without port or IPv6 brackets: ``[::1]:8000`` -> ``::1``."""
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.partition(":")[0]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(_name(host))
    except ValueError:
        return False
    return True


def _is_loopback_name(host: str) -> bool:
    name = _name(host)
    return name in ("localhost", ".localhost") or name.endswith(".localhost")


def _origin(host: str) -> str:
    return f"https://*{host}" if host.startswith(".") else f"https://{host}"


__all__ = ["SOURCE_VARIABLES", "allowed_hosts", "csrf_trusted_origins", "task_private_ips"]
