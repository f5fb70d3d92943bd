"""FastAPI helpers, on top of :class:`cookieconsent.asgi.ConsentMiddleware`.

::

    from fastapi import FastAPI
    from cookieconsent.asgi import ConsentMiddleware
    from cookieconsent.fastapi import Consent, require_consent

    app = FastAPI()
    app.add_middleware(ConsentMiddleware, config=config)

    @app.get("/")
    def index(consent: Consent):
        return {"analytics": consent.allows("analytics")}

    @app.post("/track", dependencies=[require_consent("analytics")])
    def track(): ...
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request

from cookieconsent.core.state import ConsentState

__all__ = ["Consent", "get_consent", "require_consent"]


def get_consent(request: Request) -> ConsentState:
    """The request's consent state (a FastAPI dependency)."""
    state = request.scope.get("state", {}).get("cookieconsent")
    if state is None:
        raise RuntimeError(
            "No consent state for this request: add the middleware with "
            "app.add_middleware(cookieconsent.asgi.ConsentMiddleware, config=…)"
        )
    return state  # type: ignore[no-any-return]


#: Annotate a path-operation parameter with this to receive the consent state.
Consent = Annotated[ConsentState, Depends(get_consent)]


def require_consent(category: str) -> Any:
    """A dependency that answers 403 unless ``category`` is granted.

    Use it in ``dependencies=[require_consent("analytics")]`` or as a parameter default.
    """

    def dependency(request: Request) -> ConsentState:
        state = get_consent(request)
        if not state.allows(category):
            raise HTTPException(
                status_code=403,
                detail=f"This needs consent to the {category!r} category; it can be given in the cookie settings.",
            )
        return state

    return Depends(dependency)
