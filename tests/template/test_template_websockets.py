"""WebSockets with Django Channels (the `channels` answer): what the template generates for
them, and a real round trip through the generated web command.

The round trip renders the ASGI answers with channels into the sample project, adds what
an app with Channels has (a consumer and a ProtocolTypeRouter in asgi.py), and runs the web
task definition's exact command twice, as two tasks: gunicorn with the generated
deploy/gunicorn.conf.py and the uvicorn worker, settings from configure() with the channel
layer on the real Redis. A client on task 1 sends, a client on task 2 receives through
group_send; then task 2 is stopped as ECS stops it and its client is told to reconnect.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
import websockets
import yaml
from support.certificates import CertificateAuthority
from support.moto_server import Aws, MotoServer
from support.processes import Process, free_port, http_request, running
from support.redis_servers import REDIS_HOST, REDIS_PORT
from support.template import (
    ALB_HEALTH_CHECK,
    REQUIRED_ANSWERS,
    RUN_ANSWERS,
    RUN_REGION,
    RenderedProject,
    fake_aws,
    host_plumbing,
    only_container,
    render,
    sample_copy,
)
from support.template_matrix import Rendered
from support.terraform_eval import Facts, Instance
from support.terraform_schema import TERRAFORM_DIR
from websockets.exceptions import ConnectionClosed

from django_aws_settings.ops.repository.answers import stated_answers
from django_aws_settings.ops.repository.facts import repository_facts

DOMAIN = REQUIRED_ANSWERS["domain"]
ORIGIN = f"https://{DOMAIN}"
START_TIMEOUT = 60.0
# The web task's keep-alive with WebSockets (deploy/ecs/web.json) and modules/app's default
# idle timeout for them.
WEBSOCKET_KEEPALIVE = 3605
WEBSOCKET_IDLE_TIMEOUT = 3600
UPGRADE_HEADERS = {
    "Sec-WebSocket-Key",
    "Sec-WebSocket-Version",
    "Sec-WebSocket-Protocol",
    "Sec-WebSocket-Extensions",
}


# -------------------------------------------------------------------- what is generated


def web_environment(rendered: Rendered, environment: str = "production") -> dict[str, str]:
    web = only_container(rendered.request("web", environment))
    return {item["name"]: item["value"] for item in web["environment"]}


def test_every_container_turns_the_layer_on_with_a_prefix_per_environment(
    rendered: Rendered,
) -> None:
    for label, request in rendered.requests().items():
        environment = label.split("@")[1]
        env = {item["name"]: item["value"] for item in only_container(request)["environment"]}
        if rendered.case.channels:
            assert env["DJANGO_AWS_CHANNELS"] == "true", label
            assert env["CHANNELS_PREFIX"] == f"shop:{environment}:asgi", label
        else:
            assert "DJANGO_AWS_CHANNELS" not in env, label
            assert "CHANNELS_PREFIX" not in env, label


def test_only_the_web_task_keeps_connections_open_past_the_idle_timeout(
    rendered: Rendered,
) -> None:
    keepalive = {
        label.split("@")[0]: {
            item["name"]: item["value"] for item in only_container(request)["environment"]
        }.get("GUNICORN_KEEPALIVE")
        for label, request in rendered.requests().items()
    }
    expected = str(WEBSOCKET_KEEPALIVE) if rendered.case.channels else None
    assert keepalive.pop("web") == expected
    assert set(keepalive.values()) == {None}


def test_the_answers_file_records_channels_and_the_socket_path(rendered: Rendered) -> None:
    answers = yaml.safe_load((rendered.root / ".copier-answers.django-aws.yml").read_text())
    assert answers.get("channels", False) is rendered.case.channels
    assert answers.get("websocket_path") == ("/ws/*" if rendered.case.channels else None)


def edge(rendered: Rendered) -> Instance:
    environment = rendered.case.environments[0]
    root = rendered.root / TERRAFORM_DIR / "environments" / environment
    return (
        Instance.root_module(root, Facts(rendered.case.account(environment), RUN_REGION))
        .child("app")
        .child("edge")
    )


def evaluated(owner: Instance, block: Any, scope: dict[str, Any]) -> dict[str, Any]:
    return {name: owner.evaluate(tree, scope) for name, tree in block.arguments.items()}


def test_cloudfront_sends_the_socket_path_uncached_with_the_upgrade_headers(
    rendered: Rendered,
) -> None:
    if rendered.case.compute == "express":
        pytest.skip("ECS Express Mode has no CloudFront of ours (channels is refused there)")
    module = edge(rendered)
    distribution = module.instances("resource", "aws_cloudfront_distribution", "this")
    behaviours = {
        values["path_pattern"]: values
        for block, scope in distribution.nested_blocks("ordered_cache_behavior")
        for values in [evaluated(module, block, scope)]
    }
    policies = module.instances("resource", "aws_cloudfront_origin_request_policy", "websocket")
    if not rendered.case.channels:
        assert "/ws/*" not in behaviours
        assert policies == []
        return
    socket = behaviours["/ws/*"]
    disabled = module.instances("data", "aws_cloudfront_cache_policy", "disabled")
    (policy,) = policies
    assert socket["target_origin_id"] == "app"
    assert socket["cache_policy_id"] == disabled.get("id")  # Managed-CachingDisabled
    assert disabled.argument("name") == "Managed-CachingDisabled"
    assert socket["origin_request_policy_id"] == policy.get("id")
    assert socket["viewer_protocol_policy"] == "https-only"  # a redirect cannot upgrade
    assert socket["compress"] is False
    (headers,) = policy.block.nested("headers_config")
    (items,) = headers.nested("headers")
    forwarded = set(module.evaluate(items.arguments["items"]))
    assert UPGRADE_HEADERS | {"Host", "Origin"} <= forwarded
    (cookies,) = policy.block.nested("cookies_config")
    assert module.evaluate(cookies.arguments["cookie_behavior"]) == "all"  # the session


def test_long_connections_get_the_idle_timeout_and_no_stickiness_unless_asked(
    rendered: Rendered,
) -> None:
    if rendered.case.compute == "express":
        pytest.skip("ECS Express Mode has no load balancer of ours")
    module = edge(rendered)
    alb = module.instances("resource", "aws_lb", "this")
    group = module.instances("resource", "aws_lb_target_group", "web")
    expected = WEBSOCKET_IDLE_TIMEOUT if rendered.case.channels else 60
    assert alb.argument("idle_timeout") == expected
    (stickiness,) = group.block.nested("stickiness")
    assert module.evaluate(stickiness.arguments["enabled"]) is False
    # uvicorn must not close an idle keep-alive connection the ALB still thinks is open.
    keepalive = int(web_environment(rendered).get("GUNICORN_KEEPALIVE", "75"))
    assert alb.argument("idle_timeout") < keepalive


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"requirements.txt": "Django==5.2\nchannels==4.3.1\nuvicorn-worker\n"}, True),
        ({"requirements.txt": "Django==5.2\nuvicorn-worker\n"}, False),
    ],
    ids=["channels-listed", "no-channels"],
)
def test_the_answer_defaults_to_whether_the_repository_installs_channels(
    tmp_path: Path, files: dict[str, str], expected: bool
) -> None:
    (tmp_path / "manage.py").write_text(
        'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "app.settings")\n'
    )
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "settings.py").write_text("SECRET_KEY = 'x'\n")
    (tmp_path / "app" / "asgi.py").write_text("application = None\n")
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    answers = stated_answers(repository_facts(tmp_path).as_dict())
    assert (answers["server"], answers["channels"]) == ("asgi", expected)


# ------------------------------------------------------------------ the round trip


CONSUMER = '''"""A chat room: what an app with Channels has (written by the test)."""

import os

from channels.generic.websocket import AsyncJsonWebsocketConsumer


class RoomConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.group = "room-" + self.scope["url_route"]["kwargs"]["name"]
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        kind = type(self.channel_layer)
        layer = f"{kind.__module__}.{kind.__name__}"
        await self.send_json({"joined": self.group, "pid": os.getpid(), "layer": layer})

    async def disconnect(self, code):
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content):
        message = {"type": "room.message", "text": content["text"], "sender": os.getpid()}
        await self.channel_layer.group_send(self.group, message)

    async def room_message(self, event):
        await self.send_json({"text": event["text"], "sender": event["sender"], "pid": os.getpid()})
'''

ASGI = '''"""ASGI config for shop project, with Channels' routing (written by the test)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import path  # noqa: E402

from shop.rooms import RoomConsumer  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            URLRouter([path("ws/room/<str:name>/", RoomConsumer.as_asgi())])
        ),
    }
)
'''


def redis_base_index() -> int:
    """REDIS_URL's database for this xdist worker: Celery's would be it, the cache the
    next, the channel layer the one after (0-2, 3-5), clear of the indexes the
    `redis_url` fixture hands out (12-15 with ./dev test's two workers)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER") or "gw0"
    number = int(worker.removeprefix("gw"))
    if number > 1:
        raise RuntimeError("the WebSocket round trip has Redis databases for two xdist workers")
    return 3 * number


@dataclass
class Channels:
    project: RenderedProject
    layer_db: redis.Redis
    logs: Path


@pytest.fixture(scope="module")
def channels_project(
    tmp_path_factory: pytest.TempPathFactory,
    moto_server: MotoServer,
    test_ca: CertificateAuthority,
) -> Iterator[Channels]:
    base = tmp_path_factory.mktemp("websockets")
    root = sample_copy(base)
    answers = {
        **RUN_ANSWERS,
        "server": "asgi",
        "channels": True,
        "celery": False,
        "media_on_s3": False,
    }
    render(root, answers)
    (root / "shop" / "rooms.py").write_text(CONSUMER)
    (root / "shop" / "asgi.py").write_text(ASGI)

    secretsmanager = Aws(moto_server.endpoint_url, RUN_REGION, moto_server.requests).client(
        "secretsmanager"
    )
    app_role_arn = secretsmanager.create_secret(
        Name=f"shop/production/db-app-{secrets.token_hex(4)}",
        SecretString=json.dumps({"username": "shop_app", "password": secrets.token_hex(12)}),
    )["ARN"]
    database = redis_base_index()
    redis_url = f"redis://{REDIS_HOST}:{REDIS_PORT}/{database}"
    app_secret = {"SECRET_KEY": secrets.token_urlsafe(50), "REDIS_URL": redis_url}
    home = base / "home"
    home.mkdir()
    project = RenderedProject(
        root=root,
        secret_values={
            **app_secret,
            "DJANGO_AWS_APP_SECRET": json.dumps(app_secret),
            "DATABASE_SECRET": f"secretsmanager:{app_role_arn}",
            "DATABASE_PROXY": "false",
            "DATABASE_HOST": "127.0.0.1",  # never connected to: the consumer has no queries
            "DATABASE_NAME": "shop",
            "ALLOWED_HOSTS": DOMAIN,
        },
        plumbing={
            **host_plumbing(home),
            **fake_aws(moto_server.endpoint_url),
            # The image's RDS bundle: settings check it exists; no connection is made.
            "DATABASE_CA_BUNDLE": str(test_ca.cert_path),
        },
    )
    # REDIS_URL's database is Celery's, the next the cache's: the layer takes the third.
    layer_db = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=database + 2)
    layer_db.flushdb()
    collected = project.build_step()
    assert collected.returncode == 0, collected.stdout + collected.stderr
    try:
        yield Channels(project, layer_db, base)
    finally:
        layer_db.flushdb()
        layer_db.close()


def responds(port: int, process: Process) -> bool:
    if process.popen.poll() is not None:
        pytest.fail(f"exited with {process.popen.returncode}\n{process.log.read_text()}")
    try:
        return http_request(port, "/healthz", ALB_HEALTH_CHECK, timeout=2).status == 200
    except OSError:
        return False


def wait_until_serving(port: int, process: Process) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if responds(port, process):
            return
        time.sleep(0.2)
    pytest.fail(f"the web command answers within {START_TIMEOUT} s\n{process.log.read_text()}")


async def receive(socket: Any) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), 15))
    return message


@dataclass
class Exchange:
    joined_a: dict[str, Any]
    joined_b: dict[str, Any]
    got_b: dict[str, Any]
    got_a: dict[str, Any]
    keys: set[str]  # the layer database's keys while both clients are connected


async def exchange(port_a: int, port_b: int, text: str, layer_db: redis.Redis) -> Exchange:
    """Client A on task 1 and B on task 2 join one room; A sends; what each receives."""
    room = f"ws://127.0.0.1:{{}}/ws/room/lobby-{secrets.token_hex(3)}/"
    async with (
        websockets.connect(room.format(port_a), origin=ORIGIN) as a,  # type: ignore[arg-type]
        websockets.connect(room.format(port_b), origin=ORIGIN) as b,  # type: ignore[arg-type]
    ):
        joined_a, joined_b = await receive(a), await receive(b)
        keys = {key.decode() for key in layer_db.keys("*")}
        await a.send(json.dumps({"text": text}))
        return Exchange(joined_a, joined_b, await receive(b), await receive(a), keys)


async def told_to_reconnect(port: int, stop: Any) -> int | None:
    """Connect, let `stop` stop the task, and return the close code the client gets."""
    async with websockets.connect(
        f"ws://127.0.0.1:{port}/ws/room/drain/",
        origin=ORIGIN,  # type: ignore[arg-type]
    ) as socket:
        await receive(socket)
        stop()
        try:
            await asyncio.wait_for(socket.recv(), 30)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
    return None


@pytest.mark.slow
def test_a_group_message_crosses_two_web_tasks_through_redis(channels_project: Channels) -> None:
    project = channels_project.project
    command = project.command("web")
    ports = free_port(), free_port()
    environs = [project.environ("web", PORT=str(port), WEB_CONCURRENCY="1") for port in ports]
    assert environs[0]["DJANGO_AWS_CHANNELS"] == "true"
    logs = [channels_project.logs / f"web-{n}.log" for n in (1, 2)]
    with (
        running(command, cwd=project.root, env=environs[0], log=logs[0]) as one,
        running(command, cwd=project.root, env=environs[1], log=logs[1]) as two,
    ):
        wait_until_serving(ports[0], one)
        wait_until_serving(ports[1], two)
        layer_db = channels_project.layer_db
        first = asyncio.run(exchange(*ports, "hello from task 1", layer_db))

        # Two processes, and the message went from one to the other through Redis.
        layer = "channels_redis.core.RedisChannelLayer"
        assert first.joined_a["layer"] == first.joined_b["layer"] == layer
        assert first.joined_a["pid"] != first.joined_b["pid"]
        assert first.got_b == {
            "text": "hello from task 1",
            "sender": first.joined_a["pid"],
            "pid": first.joined_b["pid"],
        }
        assert first.got_a["sender"] == first.joined_a["pid"]
        # The group lives in the layer's own database, under the environment's prefix.
        assert first.keys
        assert all(key.startswith("shop:production:asgi") for key in first.keys), first.keys
        group = [key for key in first.keys if ":group:" in key]
        assert len(group) == 1
        # Both leave the group when their sockets close (the consumers' disconnect, which
        # runs on the servers just after the clients have gone).
        deadline = time.monotonic() + 15
        while layer_db.zcard(group[0]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert layer_db.zcard(group[0]) == 0

        # ECS stops task 2 (SIGTERM): uvicorn closes its sockets with 1012 "service
        # restart", so clients reconnect, and find task 1.
        def stop_two() -> None:
            os.killpg(two.popen.pid, signal.SIGTERM)

        assert asyncio.run(told_to_reconnect(ports[1], stop_two)) == 1012
        assert two.popen.wait(timeout=30) == 0
        again = asyncio.run(exchange(ports[0], ports[0], "after the deploy", layer_db))
        assert again.got_b["text"] == "after the deploy"
    log = logs[0].read_text()
    assert "uvicorn_worker.UvicornWorker" in log
