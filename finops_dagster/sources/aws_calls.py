"""Calling AWS APIs politely: a client-side rate limit on every request, backoff on throttling.

``RateLimiter.acquire`` is registered on botocore's ``before-send`` event, so it gates every
HTTP request, botocore's own retries included.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Any

THROTTLING = {
    "ThrottlingException",
    "LimitExceededException",
    "TooManyRequestsException",
    "Throttling",
    "RequestLimitExceeded",
}


class AwsCallError(Exception):
    """An AWS call failed for a reason retrying cannot fix; the message says which call."""


def _service(client: Any) -> str:
    try:
        return client.meta.service_model.service_id
    except AttributeError:
        return "AWS"


class RateLimiter:
    """At most ``rate`` calls in any sliding window of ``per`` seconds, across threads."""

    def __init__(self, rate: int = 5, per: float = 1.0) -> None:
        self.rate, self.per = rate, per
        self.sent: collections.deque[float] = collections.deque()
        self.lock = threading.Lock()

    def acquire(self, **_: Any) -> None:
        while True:
            with self.lock:
                now = time.monotonic()
                while self.sent and now - self.sent[0] >= self.per:
                    self.sent.popleft()
                if len(self.sent) < self.rate:
                    self.sent.append(now)
                    return
                wait = self.per - (now - self.sent[0]) + 0.001
            time.sleep(wait)


def call(client: Any, op: str, backoff: float = 0.5, attempts: int = 6, **kwargs: Any) -> dict:
    """One API call; throttling left over after botocore's retries is retried with backoff."""
    from botocore.exceptions import ClientError

    for attempt in range(attempts):
        try:
            return getattr(client, op)(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in THROTTLING and attempt + 1 < attempts:
                time.sleep(backoff * 2**attempt)
                continue
            raise AwsCallError(f"{_service(client)} {op} failed: {code or 'error'}: {exc}") from exc
        except Exception as exc:  # an HTML error page, a dropped connection ...
            raise AwsCallError(f"{_service(client)} {op} failed: {exc}") from exc
    raise AssertionError("unreachable")


def account_session(role_arn: str | None = None, session: Any = None) -> tuple[Any, str]:
    """A boto3 session for ``role_arn`` (assumed with STS) or the default credentials, and the
    account it reads: each linked account has its own CloudWatch (and, for member accounts, its
    own Cost Explorer view), reached through a role in that account."""
    import boto3

    session = session or boto3.session.Session()
    if not role_arn:
        return session, "default"
    creds = session.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="finops-dagster")[
        "Credentials"
    ]
    assumed = boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=session.region_name or "us-east-1",
    )
    return assumed, role_arn.split(":")[4]
