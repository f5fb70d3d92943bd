"""Sending over ASGI: the library's replies, and the messages the middleware holds back.

A streamed reply is read off the event loop, and stops when its client goes. The WSGI adapter needs
none of this: a WSGI server iterates a streamed reply itself, in its thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
from collections.abc import Awaitable, Callable, Generator, MutableMapping
from types import FunctionType, MethodType
from typing import Any, TypeVar, cast

from cookieconsent.web.replies import Reply

__all__ = [
    "HELD",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "closing_lifespan",
    "direct_call",
    "off_loop",
    "send_both",
    "send_reply",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
_T = TypeVar("_T")
_F = TypeVar("_F", bound=Callable[..., Any])


def direct_call(app: _F) -> _F:
    """What to call to run ``app``: the bound ``__call__`` of an object of a Python class, else ``app``.

    Calling the object goes through its type's call slot, which looks ``__call__`` up on every call
    and enters the interpreter again; the bound method is called directly. Functions, and objects
    whose ``__call__`` is no plain Python function (a static method, a built-in), are called as they are.
    """
    call = inspect.getattr_static(type(app), "__call__", None)  # as defined, not bound
    if isinstance(app, FunctionType | MethodType) or not isinstance(call, FunctionType):
        return app
    return cast("_F", MethodType(call, app))


def closing_lifespan(send: Send, close: Callable[[], object]) -> Send:
    """The lifespan ``send`` of a server, which calls ``close`` before it reports the shutdown complete."""

    async def lifespan_send(message: Message) -> None:
        if message["type"] == "lifespan.shutdown.complete":
            close()  # write what is pending before the server exits
        await send(message)

    return lifespan_send


async def off_loop(function: Callable[[], _T]) -> _T:
    """``function()`` in the loop's thread pool (it waits on the store); inline where no asyncio loop runs."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return function()
    return await loop.run_in_executor(None, functools.partial(contextvars.copy_context().run, function))


async def _gone(receive: Receive) -> bool:
    """Whether the client went away: once the request body is read, ``receive()`` answers only that."""
    try:
        return bool((await receive())["type"] == "http.disconnect")
    except Exception:  # a server that cannot say: the stream runs to its end
        return False


async def send_reply(send: Send, reply: Reply, receive: Receive) -> None:
    """Send ``reply``; a streamed one chunk by chunk, each read in a thread, until its client goes."""
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in reply.head()]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    stream = reply.stream
    if stream is None:
        await send({"type": "http.response.body", "body": reply.body})
        return
    # Servers drop what is sent after the client left without saying so: stop reading the store then.
    try:
        watcher: asyncio.Task[bool] | None = asyncio.get_running_loop().create_task(_gone(receive))
    except RuntimeError:
        watcher = None  # no asyncio loop (trio): the stream runs to its end
    try:
        while watcher is None or not (watcher.done() and watcher.result()):
            chunk = await off_loop(functools.partial(next, stream, None))  # each chunk may read the store
            if chunk is None:
                break
            if chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    finally:
        if watcher is not None:
            watcher.cancel()
        with contextlib.suppress(ValueError):  # still running in its thread (cancelled): collected later
            getattr(stream, "close", lambda: None)()


class _Held:
    """What a ``send`` returns for a message it holds back: an awaitable that is done at once."""

    __slots__ = ()

    def __await__(self) -> Generator[None, None, None]:
        yield from ()


HELD = _Held()


async def send_both(send: Send, first: Message, second: Message) -> None:
    """Send a held message, then the one that releases it."""
    await send(first)
    await send(second)
