"""A DingTalk- or Lark-style robot webhook: one signed HTTPS POST per message (urllib, no SDK).

Signing (DingTalk custom robot "加签"): `timestamp` in ms, `sign = base64(HMAC-SHA256(key=secret,
msg=f"{timestamp}\\n{secret}"))`, both added to the URL's query. Lark/Feishu: `timestamp` in seconds and
`sign = base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b""))` in the JSON body. The URL carries
the robot's access token and the secret signs: both are registered with the log redactor at once and
never appear in a log line, an error or an alert (errors name the host only).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from shared.errors import InvalidCloudRequestError, ServiceUnavailableError
from shared.logs import register_secret


def sign(secret: str, timestamp: int, style: str) -> str:
    """The webhook signature (see the module docstring).

    >>> sign("s", 1700000000000, "dingtalk")
    'izNUYw3bO0KxsDYzYMDR365t+vMgZSe8PyS8sv7esqs='
    """
    if style == "lark":
        digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    else:
        digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class WebhookSender:
    """Posts markdown (DingTalk) or text (Lark) messages to one robot."""

    def __init__(self, url: str, secret: str | None, style: str = "dingtalk", *, timeout: float = 10.0,
                 clock: Any = time.time) -> None:
        register_secret(url)
        token = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get("access_token")
        if token:
            register_secret(token[0])
        if secret:
            register_secret(secret)
        self._url, self._secret, self.style, self._timeout, self._clock = url, secret, style, timeout, clock
        self.host = urllib.parse.urlsplit(url).netloc
        self.calls = 0

    def request(self, title: str, text: str) -> tuple[str, bytes]:
        """The URL and body one message is posted as (signed when a secret is set)."""
        url = self._url
        if self.style == "lark":
            body: dict[str, Any] = {"msg_type": "text", "content": {"text": f"{title}\n{text}"}}
            if self._secret:
                now = int(self._clock())
                body.update(timestamp=str(now), sign=sign(self._secret, now, "lark"))
        else:
            body = {"msgtype": "markdown", "markdown": {"title": title, "text": f"### {title}\n\n{text}"}}
            if self._secret:
                now = int(self._clock() * 1000)
                query = urllib.parse.urlencode({"timestamp": now, "sign": sign(self._secret, now, "dingtalk")})
                url = f"{url}{'&' if '?' in url else '?'}{query}"
        return url, json.dumps(body, ensure_ascii=False).encode()

    def send(self, title: str, text: str) -> None:
        """Post one message; a robot's own error (`errcode`/`code` not 0) is an InvalidCloudRequestError."""
        url, body = self.request(title, text)
        self.calls += 1
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json; charset=utf-8"})
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as answer:  # noqa: S310 - https URL from env
                reply = json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as exc:
            error = ServiceUnavailableError if exc.code >= 500 else InvalidCloudRequestError
            raise error(f"webhook {self.host} answered HTTP {exc.code}", code=f"Http{exc.code}",
                        status=exc.code) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise ServiceUnavailableError(f"webhook {self.host} unreachable: {type(exc).__name__}",
                                          code="WebhookUnreachable") from None
        code = reply.get("errcode", reply.get("code", 0)) if isinstance(reply, dict) else 0
        if code not in (0, None):
            message = str(reply.get("errmsg") or reply.get("msg") or "")[:200]
            raise InvalidCloudRequestError(f"webhook {self.host} refused the message: {message}",
                                           code=f"Webhook{code}")
