"""A scripted Indigo for SDK tests: canned answers by method and path, a virtual clock,
and a record of every request and sleep."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiiro.client import Indigo
from aiiro.client_core.config import Places
from aiiro.client_core.errors import NetworkError
from aiiro.client_core.policy import Http, Reply

ENDPOINT = "https://indigo.test"
TOKEN_BODY = (
    '{{"accessToken": "{token}", "tokenType": "BearerToken", "expiresIn": "3599" , '
    '"scope": "" , "issuedAt": "1728599792520"}}'
)

Answer = tuple[int, Any, dict[str, str]] | Callable[[Http], "Reply"] | Exception


def reply(status: int, body: Any, headers: dict[str, str] | None = None) -> Reply:
    content = (
        body
        if isinstance(body, bytes)
        else (body.encode() if isinstance(body, str) else json.dumps(body).encode())
    )
    return Reply(status, {k.lower(): v for k, v in (headers or {}).items()}, content)


@dataclass
class FakeIndigo:
    """`send` answers from `routes` ("METHOD /path" -> list of answers, used in order, the
    last one repeating); the token endpoint answers fresh tokens unless scripted."""

    now: float = 1_700_000_000.0
    routes: dict[str, list[Any]] = field(default_factory=dict)
    sent: list[Http] = field(default_factory=list)
    slept: list[float] = field(default_factory=list)
    tokens_issued: int = 0

    def on(self, method: str, path: str, *answers: Any) -> None:
        self.routes[f"{method} {path}"] = list(answers)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def send(self, h: Http) -> Reply:
        self.sent.append(h)
        path = h.url.removeprefix(ENDPOINT).split("?")[0]
        key = f"{h.method} {path}"
        if key not in self.routes and path == "/oauth/v1/accesstokens":
            self.tokens_issued += 1
            return reply(201, TOKEN_BODY.format(token=f"tok{self.tokens_issued:025d}"))
        answers = self.routes.get(key)
        if not answers:
            return reply(
                404, {"success": False, "errorMessage": "Not found.", "errorCode": "A4040"}
            )
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            result: Reply = answer(h)
            return result
        if isinstance(answer, Reply):
            return answer
        status, body, *rest = answer
        return reply(status, body, rest[0] if rest else None)

    def paths(self) -> list[str]:
        return [f"{h.method} {h.url.removeprefix(ENDPOINT)}" for h in self.sent]

    def client(self, places: Places, **kw: Any) -> Indigo:
        return Indigo(
            "key",
            "secret",
            ENDPOINT,
            places=places,
            transport=self.send,
            clock=self.clock,
            sleep=self.sleep,
            **kw,
        )


def network_down() -> NetworkError:
    return NetworkError("connection refused")
