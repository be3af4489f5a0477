"""The one place the ``openai`` SDK is called: :class:`OpenAIChatModel`, a :class:`ChatModel` over Chat Completions.

Any OpenAI-compatible server works (OpenAI, Azure OpenAI, Ollama, vLLM): only ``base_url``, the key and the model name
change. The SDK's own retries are off (``max_retries=0``); ours are bounded by attempts *and* by one time budget
(``settings.ai.timeout``), honour ``Retry-After``, and only happen before the first token (a half-streamed answer
cannot be replayed). Every failure becomes one :class:`ChatModelError` with a stable code; its message is ours, never
the provider's text (which may echo a masked key or the prompt). The key is never logged.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import openai
import structlog

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

    from server.settings import AISettings

__all__ = ["ChatModel", "ChatModelError", "Message", "OpenAIChatModel", "TokenUsage"]

logger = structlog.get_logger(__name__)

Message = dict[str, Any]  # one Chat Completions message: {"role": …, "content": str | list of parts}
# Ollama and other local servers want no key, but the SDK refuses to start without one.
PLACEHOLDER_KEY = "not-needed"
MAX_ATTEMPTS = 3
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 8.0


class ChatModelError(Exception):
    """The chat model could not give an answer.

    ``code`` is stable (``ai_timeout``, ``ai_unavailable``, ``ai_rate_limited``, ``ai_rejected``,
    ``ai_bad_response``), ``message`` is safe to show a user.
    """

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


@dataclass
class TokenUsage:
    """Tokens one call used, filled in by the call when the provider reports them (else left at zero)."""

    tokens_in: int = 0
    tokens_out: int = 0
    model: str | None = None

    def add(self, tokens_in: int, tokens_out: int, model: str | None) -> None:
        """Count one more provider-reported usage."""
        self.tokens_in += tokens_in
        self.tokens_out += tokens_out
        self.model = model or self.model


@runtime_checkable
class ChatModel(Protocol):
    """A chat model that streams answers and fills JSON-schema forms."""

    @property
    def model_name(self) -> str:
        """The configured model name (recorded with each answer's usage)."""
        ...

    def stream(self, messages: Sequence[Message], *, usage: TokenUsage | None = None) -> AsyncIterator[str]:
        """The answer to ``messages`` as text pieces; ``usage`` is filled in once the stream ends."""
        ...

    async def structured(
        self, messages: Sequence[Message], schema: dict[str, Any], name: str, *, usage: TokenUsage | None = None
    ) -> dict[str, Any]:
        """A JSON object matching ``schema`` (strict structured output), not streamed."""
        ...

    async def aclose(self) -> None:
        """Close the client's connections."""
        ...


_RETRYABLE = (openai.RateLimitError, openai.InternalServerError, openai.APIConnectionError)


def _retry_after(error: openai.APIStatusError) -> float | None:
    """Seconds the provider asked us to wait (``retry-after-ms``, ``retry-after`` seconds or HTTP date)."""
    headers = error.response.headers
    try:
        if (ms := headers.get("retry-after-ms")) is not None:
            return max(0.0, float(ms) / 1000)
        if (value := headers.get("retry-after")) is not None:
            try:
                return max(0.0, float(value))
            except ValueError:
                when = email.utils.parsedate_to_datetime(value)
                return max(0.0, when.timestamp() - time.time())
    except (ValueError, TypeError, OverflowError):
        return None
    return None


def _to_error(error: BaseException) -> ChatModelError:
    """Our one error for whatever the SDK (or the clock) raised."""
    if isinstance(error, ChatModelError):
        return error
    code, message = "ai_bad_response", "The AI model sent an answer we could not read."
    if isinstance(error, openai.APITimeoutError | TimeoutError):
        code, message = "ai_timeout", "The AI model did not answer in time."
    elif isinstance(error, openai.RateLimitError):
        code, message = "ai_rate_limited", "The AI model is rate-limiting us; please try again shortly."
    elif isinstance(error, openai.APIStatusError) and error.status_code >= 500:
        code, message = "ai_unavailable", "The AI model is unavailable right now."
    elif isinstance(error, openai.APIStatusError):
        code, message = "ai_rejected", f"The AI model refused the request (HTTP {error.status_code})."
    elif isinstance(error, openai.APIConnectionError):
        code, message = "ai_unavailable", "The AI model could not be reached."
    return ChatModelError(code, message)


class OpenAIChatModel:
    """:class:`ChatModel` over ``openai.AsyncOpenAI`` with bounded retries inside one time budget."""

    def __init__(
        self,
        settings: AISettings,
        *,
        max_attempts: int = MAX_ATTEMPTS,
        backoff_base: float = BACKOFF_BASE_S,
    ) -> None:
        key = settings.api_key.get_secret_value() if settings.api_key is not None else PLACEHOLDER_KEY
        self._model = settings.model
        self._timeout = float(settings.timeout)
        self._max_attempts = max(1, max_attempts)
        self._backoff_base = backoff_base
        # base_url None → the SDK's default (OpenAI); its own retries are off: ours know the time budget.
        self._client = openai.AsyncOpenAI(base_url=settings.base_url, api_key=key, timeout=self._timeout, max_retries=0)

    def __repr__(self) -> str:
        return f"OpenAIChatModel(model={self._model!r}, base_url={str(self._client.base_url)!r})"

    @property
    def model_name(self) -> str:
        """The configured model name."""
        return self._model

    async def aclose(self) -> None:
        """Close the HTTP connection pool (app shutdown)."""
        await self._client.close()

    async def _pause(self, attempt: int, error: BaseException, deadline: float) -> None:
        """Sleep before the next attempt, or raise ``error`` as ours when no attempt or time is left."""
        if attempt + 1 >= self._max_attempts or not isinstance(error, _RETRYABLE):
            raise _to_error(error) from error
        wait = _retry_after(error) if isinstance(error, openai.APIStatusError) else None
        if wait is None:
            wait = min(BACKOFF_CAP_S, self._backoff_base * 2**attempt) * (0.5 + random.random() / 2)  # noqa: S311
        if time.monotonic() + wait >= deadline:
            raise _to_error(error) from error
        status = error.status_code if isinstance(error, openai.APIStatusError) else None
        logger.info("ai_retry", attempt=attempt + 1, status=status, error=type(error).__name__, wait_s=round(wait, 3))
        await asyncio.sleep(wait)

    async def stream(self, messages: Sequence[Message], *, usage: TokenUsage | None = None) -> AsyncIterator[str]:
        """Stream the answer to ``messages`` as text pieces, filling ``usage`` as the provider reports it.

        A failed attempt is retried within the time budget only until the first piece is out.
        """
        deadline = time.monotonic() + self._timeout
        attempt = 0
        while True:
            started = False
            wire: Any = list(messages)  # our plain dicts are what the SDK's TypedDicts describe
            try:
                async with asyncio.timeout_at(_loop_time(deadline)) as first_token:
                    response = await self._client.chat.completions.create(
                        model=self._model,
                        messages=wire,
                        stream=True,
                        stream_options={"include_usage": True},
                        timeout=max(0.001, deadline - time.monotonic()),
                    )
                    async with response:
                        async for chunk in response:
                            if chunk.usage is not None and usage is not None:
                                usage.add(chunk.usage.prompt_tokens, chunk.usage.completion_tokens, chunk.model)
                            if not chunk.choices:
                                continue
                            piece = chunk.choices[0].delta.content
                            if piece:
                                if not started:
                                    started = True
                                    first_token.reschedule(None)  # later chunks: the SDK's read timeout applies
                                yield piece
                if not started:
                    raise ChatModelError("ai_bad_response", "The AI model sent an empty answer.")
                return
            except ChatModelError:
                raise
            except (openai.OpenAIError, TimeoutError) as error:
                if started:  # half an answer is out: it cannot be retried
                    raise _to_error(error) from error
                logger.info("ai_stream_failed", attempt=attempt + 1, error=type(error).__name__)
                await self._pause(attempt, error, deadline)
                attempt += 1

    async def structured(
        self, messages: Sequence[Message], schema: dict[str, Any], name: str, *, usage: TokenUsage | None = None
    ) -> dict[str, Any]:
        """A JSON object matching ``schema`` (strict structured output), retried within the time budget."""
        deadline = time.monotonic() + self._timeout
        attempt = 0
        wire: Any = list(messages)
        response_format: Any = {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}
        while True:
            try:
                async with asyncio.timeout_at(_loop_time(deadline)):
                    completion = await self._client.chat.completions.create(
                        model=self._model,
                        messages=wire,
                        response_format=response_format,
                        timeout=max(0.001, deadline - time.monotonic()),
                    )
                break
            except (openai.OpenAIError, TimeoutError) as error:
                await self._pause(attempt, error, deadline)
                attempt += 1
        if completion.usage is not None and usage is not None:
            usage.add(completion.usage.prompt_tokens, completion.usage.completion_tokens, completion.model)
        content = completion.choices[0].message.content if completion.choices else None
        try:
            value = json.loads(content or "")
        except ValueError:
            raise ChatModelError("ai_bad_response", "The AI model's structured answer was not JSON.") from None
        if not isinstance(value, dict):
            raise ChatModelError("ai_bad_response", "The AI model's structured answer was not a JSON object.")
        return value


def _loop_time(deadline: float) -> float:
    """``deadline`` (a ``time.monotonic()`` value) on the running loop's clock."""
    return asyncio.get_running_loop().time() + (deadline - time.monotonic())
