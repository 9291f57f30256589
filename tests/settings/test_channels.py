"""channel_layers(): the CHANNEL_LAYERS shape, its problems, configure()'s keep/replace rule,
and channels-redis itself sending a group message through real Redis (plain and TLS)."""

from __future__ import annotations

import asyncio
import ssl
import uuid
from pathlib import Path
from typing import Any

import pytest
import redis
from channels.layers import InMemoryChannelLayer
from channels_redis.core import RedisChannelLayer
from django.core.checks import CheckMessage
from django.test import override_settings
from support.certificates import CertificateAuthority
from support.redis_servers import TlsRedis

from django_aws_settings.settings.channels import (
    IN_MEMORY_LAYER,
    REDIS_LAYER,
    SOURCE_VARIABLES,
    channel_layers,
    merged_channel_layers,
    uses_channels,
)
from django_aws_settings.settings.checks import check_channel_layer_apart_from_caches
from django_aws_settings.settings.configure import configure
from django_aws_settings.settings.errors import ConfigError

TOKEN = "s3cr3t-auth-T0ken"
ON = {"DJANGO_AWS_CHANNELS": "true"}
TLS = {"ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_check_hostname": True}
URL_SHAPE = "redis[s]://[[user]:password@]host[:port][/db] (or valkey[s]://)"


def layer(environ: dict[str, str]) -> dict[str, Any]:
    return channel_layers(environ)["default"]


def host(environ: dict[str, str]) -> dict[str, Any]:
    hosts: list[dict[str, Any]] = layer(environ)["CONFIG"]["hosts"]
    assert len(hosts) == 1
    return hosts[0]


def problems(environ: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as error:
        channel_layers(environ)
    return [str(problem) for problem in error.value.problems]


# ------------------------------------------------------------------------------ shape


def test_source_variables() -> None:
    assert SOURCE_VARIABLES == ("DJANGO_AWS_CHANNELS", "CHANNELS_REDIS_URL")


def test_off_builds_nothing_even_with_redis() -> None:
    assert channel_layers({"DJANGO_AWS_CHANNELS": "false", "REDIS_URL": "redis://h/0"}) == {}


def test_unset_follows_whether_the_app_installs_channels() -> None:
    environ = {"REDIS_URL": "redis://h/0"}
    assert channel_layers(environ) == {}
    assert channel_layers(environ, uses_channels=True)["default"]["BACKEND"] == REDIS_LAYER
    assert uses_channels(["django.contrib.admin", "daphne"])
    assert not uses_channels(["django.contrib.admin"])


def test_production_without_redis_and_untold_builds_nothing() -> None:
    assert channel_layers({"DJANGO_ENV": "production"}, uses_channels=True) == {}


def test_development_without_redis_uses_the_in_memory_layer() -> None:
    assert channel_layers(ON) == {"default": {"BACKEND": IN_MEMORY_LAYER}}


def test_redis_url_gives_the_redis_layer_on_a_database_of_its_own() -> None:
    built = layer({**ON, "REDIS_URL": f"redis://:{TOKEN}@cache.internal:6379/0"})
    assert built == {
        "BACKEND": REDIS_LAYER,
        "CONFIG": {
            # 0 is Celery's (REDIS_URL's own), 1 the cache's: the layer takes 2.
            "hosts": [{"address": f"redis://:{TOKEN}@cache.internal:6379/2",
                       "socket_connect_timeout": 5}],
            "prefix": "asgi",
            "expiry": 60,
            "capacity": 100,
            "group_expiry": 86_400,
        },
    }  # fmt: skip


@pytest.mark.parametrize(
    ("database", "expected"),
    [(0, 2), (5, 7), (13, 15), (14, 13), (15, 13)],
)
def test_layer_database_is_neither_celerys_nor_the_caches(database: int, expected: int) -> None:
    address = host({**ON, "REDIS_URL": f"redis://h:6379/{database}"})["address"]
    assert address == f"redis://h:6379/{expected}"


def test_layer_keeps_off_databases_other_variables_name_on_the_same_server() -> None:
    environ = {
        **ON,
        "REDIS_URL": "redis://h:6379/0",
        "CACHE_URL": "redis://h:6379/2",
        "CELERY_BROKER_URL": "redis://h:6379/3",
        "CELERY_RESULT_BACKEND": "redis://other:6379/4",  # another server: no clash
    }
    assert host(environ)["address"] == "redis://h:6379/4"


def test_channels_redis_url_is_used_as_given() -> None:
    environ = {**ON, "REDIS_URL": "redis://h/0", "CHANNELS_REDIS_URL": "redis://ws.internal/0"}
    assert host(environ)["address"] == "redis://ws.internal/0"


def test_tls_url_verifies_the_certificate_and_host_name() -> None:
    built = host({**ON, "REDIS_URL": f"rediss://:{TOKEN}@master.x.cache.amazonaws.com:6379"})
    assert built == {
        "address": f"rediss://:{TOKEN}@master.x.cache.amazonaws.com:6379/2",
        "socket_connect_timeout": 5,
        **TLS,
    }


def test_valkeys_url_is_spelled_rediss_with_tls(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    built = host({**ON, "REDIS_URL": "valkeys://h:6379/0", "REDIS_CA_BUNDLE": str(bundle)})
    assert built["address"] == "rediss://h:6379/2"
    assert built["ssl_ca_certs"] == str(bundle)
    assert built["ssl_cert_reqs"] == ssl.CERT_REQUIRED


def test_prefix_names_the_project_then_follows_channels_prefix() -> None:
    base = {**ON, "REDIS_URL": "redis://h/0", "DJANGO_AWS_PROJECT": "shop"}
    assert layer(base)["CONFIG"]["prefix"] == "shop:asgi"
    given = {**base, "CHANNELS_PREFIX": "shop:staging:asgi"}
    assert layer(given)["CONFIG"]["prefix"] == "shop:staging:asgi"


# ------------------------------------------------------------------------ bad input


def test_bad_redis_url_is_one_error_without_the_secret() -> None:
    with pytest.raises(ConfigError) as error:
        channel_layers({**ON, "REDIS_URL": f"redis://:{TOKEN}@h:6379/99"})
    assert str(error.value) == (
        "django-aws-settings: REDIS_URL: is not a valid Redis URL: the database number must "
        f"be between 0 and 15; expected {URL_SHAPE}"
    )
    assert TOKEN not in str(error.value)


def test_non_redis_channels_url_is_refused_by_name() -> None:
    assert problems({**ON, "CHANNELS_REDIS_URL": f"memcached://u:{TOKEN}@h"}) == [
        f"CHANNELS_REDIS_URL: expected {URL_SHAPE}, got a memcached:// URL"
    ]


def test_tls_options_in_the_url_are_refused() -> None:
    assert problems({**ON, "REDIS_URL": "rediss://h/0?ssl_cert_reqs=none"}) == [
        "REDIS_URL: is not a valid Redis URL: TLS options are not accepted in the URL "
        f"(use rediss:// and REDIS_CA_BUNDLE); expected {URL_SHAPE}"
    ]


def test_production_without_redis_is_refused() -> None:
    assert problems({**ON, "DJANGO_ENV": "production"}) == [
        "REDIS_URL: is required when DJANGO_ENV=production and DJANGO_AWS_CHANNELS is on "
        "(CHANNELS_REDIS_URL names another Redis); expected a redis:// or rediss:// URL"
    ]


def test_bad_flag_and_prefix_are_named() -> None:
    assert problems({"DJANGO_AWS_CHANNELS": "maybe"}) == [
        "DJANGO_AWS_CHANNELS: expected a boolean (true/false, 1/0, yes/no, on/off)"
    ]
    assert problems({**ON, "REDIS_URL": "redis://h/0", "CHANNELS_PREFIX": "has space"}) == [
        "CHANNELS_PREFIX: expected at most 100 letters, digits and . _ : - characters"
    ]


# ---------------------------------------------------------------- configure() rules


APP_LAYERS = {
    "default": {
        "BACKEND": REDIS_LAYER,
        "CONFIG": {"hosts": [("localhost", 6379)], "capacity": 1500, "expiry": 10},
    }
}


def test_configure_keeps_the_apps_own_layers_unless_told() -> None:
    namespace: dict[str, Any] = {"CHANNEL_LAYERS": APP_LAYERS}
    configure(namespace, {"REDIS_URL": "redis://h:6379/0"})
    assert namespace["CHANNEL_LAYERS"] == APP_LAYERS


def test_configure_fills_in_layers_for_an_app_that_installs_channels() -> None:
    namespace: dict[str, Any] = {"INSTALLED_APPS": ["channels"]}
    configure(namespace, {"REDIS_URL": "redis://h:6379/0"})
    assert namespace["CHANNEL_LAYERS"]["default"]["CONFIG"]["hosts"][0]["address"] == (
        "redis://h:6379/2"
    )


def test_configure_told_replaces_the_connection_and_keeps_the_apps_tuning() -> None:
    namespace: dict[str, Any] = {"CHANNEL_LAYERS": APP_LAYERS}
    configure(namespace, {**ON, "REDIS_URL": "rediss://h:6379/0", "CHANNELS_PREFIX": "shop:p"})
    config = namespace["CHANNEL_LAYERS"]["default"]["CONFIG"]
    assert config["hosts"] == [{"address": "rediss://h:6379/2", "socket_connect_timeout": 5, **TLS}]
    assert (config["prefix"], config["capacity"], config["expiry"]) == ("shop:p", 1500, 10)


def test_another_backend_is_replaced_whole_when_told() -> None:
    merged = merged_channel_layers(
        {"default": {"BACKEND": IN_MEMORY_LAYER}, "other": {"BACKEND": IN_MEMORY_LAYER}},
        channel_layers({**ON, "REDIS_URL": "redis://h/0"}),
    )
    assert merged["default"]["BACKEND"] == REDIS_LAYER
    assert merged["other"] == {"BACKEND": IN_MEMORY_LAYER}


def test_configure_off_leaves_channel_layers_unset() -> None:
    namespace: dict[str, Any] = {"INSTALLED_APPS": ["channels"]}
    configure(namespace, {"DJANGO_AWS_CHANNELS": "false", "REDIS_URL": "redis://h/0"})
    assert "CHANNEL_LAYERS" not in namespace
    without_channels: dict[str, Any] = {}
    configure(without_channels, {"REDIS_URL": "redis://h/0"})
    assert "CHANNEL_LAYERS" not in without_channels


# --------------------------------------------------------------------- real Redis


def group_round_trip(config: dict[str, Any]) -> dict[str, Any]:
    """Two layer instances (two processes' worth): one joins a group, the other sends to it."""

    async def run() -> dict[str, Any]:
        receiver, sender = RedisChannelLayer(**config), RedisChannelLayer(**config)
        try:
            channel = await receiver.new_channel()
            group = f"room-{uuid.uuid4().hex[:8]}"
            await receiver.group_add(group, channel)
            await sender.group_send(group, {"type": "chat.message", "text": "hello"})
            message: dict[str, Any] = await asyncio.wait_for(receiver.receive(channel), 10)
            await receiver.group_discard(group, channel)
            return message
        finally:
            await receiver.flush()
            await receiver.close_pools()
            await sender.close_pools()

    return asyncio.run(run())


def test_group_message_through_real_redis(redis_url: str) -> None:
    built = layer({**ON, "CHANNELS_REDIS_URL": redis_url, "CHANNELS_PREFIX": "test:asgi"})
    assert group_round_trip(built["CONFIG"]) == {"type": "chat.message", "text": "hello"}


def test_group_message_through_tls_redis_with_the_ca_bundle(tls_redis: TlsRedis) -> None:
    environ = {**ON, "REDIS_URL": tls_redis.url, "REDIS_CA_BUNDLE": str(tls_redis.ca_path)}
    config = layer(environ)["CONFIG"]
    assert config["hosts"][0]["address"].startswith("rediss://")
    assert group_round_trip(config)["text"] == "hello"


def test_tls_redis_signed_by_another_ca_is_refused(tls_redis: TlsRedis, tmp_path: Path) -> None:
    other = CertificateAuthority(tmp_path)
    environ = {**ON, "REDIS_URL": tls_redis.url, "REDIS_CA_BUNDLE": str(other.cert_path)}
    with pytest.raises(redis.exceptions.ConnectionError, match="certificate verify failed"):
        group_round_trip(layer(environ)["CONFIG"])


def test_in_memory_layer_is_channels_own() -> None:
    assert f"{InMemoryChannelLayer.__module__}.{InMemoryChannelLayer.__name__}" == IN_MEMORY_LAYER


# ------------------------------------------------------------- check W017


def layer_check(namespace: dict[str, Any]) -> list[CheckMessage]:
    with override_settings(CACHES=namespace["CACHES"], CHANNEL_LAYERS=namespace["CHANNEL_LAYERS"]):
        return check_channel_layer_apart_from_caches(None)


@pytest.mark.usefixtures("django_settings")
def test_the_layer_built_from_redis_url_passes_the_check(tmp_path: Path) -> None:
    namespace: dict[str, Any] = {"BASE_DIR": tmp_path, "INSTALLED_APPS": [], "MIDDLEWARE": []}
    configure(namespace, {**ON, "REDIS_URL": f"rediss://:{TOKEN}@h:6379/0"})
    assert layer_check(namespace) == []


@pytest.mark.usefixtures("django_settings")
def test_an_apps_layer_in_the_caches_database_is_warned_about(tmp_path: Path) -> None:
    namespace: dict[str, Any] = {
        "BASE_DIR": tmp_path,
        "INSTALLED_APPS": [],
        "MIDDLEWARE": [],
        "CHANNEL_LAYERS": {
            "default": {
                "BACKEND": REDIS_LAYER,
                "CONFIG": {"hosts": [{"address": f"redis://:{TOKEN}@H:6379/1"}]},
            }
        },
    }
    configure(namespace, {"REDIS_URL": f"redis://:{TOKEN}@h:6379/0"})  # the cache takes /1
    (message,) = layer_check(namespace)
    assert message.id == "django_aws_settings.W017"
    assert message.msg == (
        "CHANNEL_LAYERS['default'] and CACHES['default'] use the same Redis database (1)."
    )
    assert TOKEN not in message.msg + str(message.hint)
