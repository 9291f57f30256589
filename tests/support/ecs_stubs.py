"""The harness of the ECS command tests that moto cannot answer: a real boto3 ECS client
whose answers come from botocore's Stubber (which checks every request and answer against
ECS's service model), a fake clock, and what the command printed.

Each test module subclasses `EcsStubs` with its own `expect_*` answers and `run()`, and
makes its fixture with `stubbed()`.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from typing import TypeVar

import boto3
from botocore.stub import Stubber

from support.fake_time import FakeTime


class EcsStubs:
    """A stubbed ECS client (`ecs`, its Stubber `stub`), `time` and the output `out`."""

    def __init__(self, region: str) -> None:
        self.session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
        )
        self.ecs = self.session.client("ecs")
        self.stub = Stubber(self.ecs)
        self.time = FakeTime()
        self.out = io.StringIO()

    def stubbers(self) -> list[Stubber]:
        """Every Stubber of the harness (a subclass stubbing another client adds its own)."""
        return [self.stub]

    def lines(self) -> list[str]:
        return self.out.getvalue().splitlines()


Harness = TypeVar("Harness", bound=EcsStubs)


def stubbed(harness: Harness) -> Iterator[Harness]:
    """A fixture's body: the harness with its Stubbers active; afterwards every stubbed
    answer was asked for (no call skipped; Stubber itself raises on an extra call)."""
    with contextlib.ExitStack() as active:
        for stubber in harness.stubbers():
            active.enter_context(stubber)
        yield harness
        for stubber in harness.stubbers():
            stubber.assert_no_pending_responses()
