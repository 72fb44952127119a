"""The dashboard's HTTP face (Starlette): routes, the token check, security headers.

* Every request needs the token ``imsh dashboard`` printed at start: ``?token=T`` once (the
  answer sets an HttpOnly, SameSite=Strict cookie and redirects to the same page without the
  token, so it leaves the address bar and the browser history), the cookie afterwards (named
  after the port: ``imsh_dashboard_8470``). Without
  it: 401. Tokens are compared in constant time.
* Read-only: every route is GET (HEAD) only; anything else is 405. No route changes state.
* Content-Security-Policy ``default-src 'self'``: the page loads only its own script and
  style from /static (nothing from the internet), no inline script.
* Engine errors (an unknown batch or user) become a 404 page with the engine's words, never a
  traceback.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from engine.errors import NotFoundError
from engine.paths import StatePaths
from engine.service import Engine
from shell.dashboard import metrics, views

HERE = Path(__file__).resolve().parent
COOKIE = "imsh_dashboard"  # + "_PORT": browsers share cookies across ports, dashboards don't


def cookie_name(request: Request) -> str:
    """One cookie per port, so two dashboards on one host do not overwrite each other's."""
    return f"{COOKIE}_{request.url.port or 80}"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class TokenGate(BaseHTTPMiddleware):
    """Refuses every request that carries neither the token nor the cookie holding it, and
    puts the security headers on every answer. ``token`` None: the TLS handshake required a
    client certificate (shell/dashboard/server.py), so every request that arrives is let in."""

    def __init__(self, app: Any, token: str | None) -> None:
        super().__init__(app)
        self._token = token

    def _is(self, offered: str | None) -> bool:
        return (offered is not None and self._token is not None
                and hmac.compare_digest(offered.encode(), self._token.encode()))

    async def dispatch(self, request: Request,
                       call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response: Response
        if self._token is None:
            response = await call_next(request)
        elif self._is(request.query_params.get("token")):
            stripped = request.url.remove_query_params("token")
            # relative: the redirect never trusts the Host header
            response = RedirectResponse(stripped.path + (f"?{stripped.query}"
                                                         if stripped.query else ""), 303)
            response.set_cookie(cookie_name(request), str(self._token), httponly=True,
                                samesite="strict", secure=request.url.scheme == "https",
                                path="/")
        elif self._is(request.cookies.get(cookie_name(request))):
            response = await call_next(request)
        else:
            response = Response("This dashboard needs the token imsh dashboard printed at "
                                "start: open the address it printed.\n", 401,
                                media_type="text/plain")
        response.headers.update(SECURITY_HEADERS)
        return response


def create_app(paths: StatePaths, token: str | None) -> Starlette:
    """The dashboard over the state ``paths``, guarded by ``token`` (None: by the client
    certificates TLS required before the request)."""
    templates = Environment(loader=FileSystemLoader(HERE / "templates"),
                            autoescape=select_autoescape(default=True))

    def engine() -> Engine:
        return Engine.open(paths)  # no runner launcher: the dashboard never starts work

    def page(name: str, **values: Any) -> HTMLResponse:
        return HTMLResponse(templates.get_template(name).render(**values))

    def read(build: Callable[[Engine], Any]) -> Any:
        with engine() as opened:
            return build(opened)

    def not_found(exc: NotFoundError) -> HTMLResponse:
        response = page("error.html", message=str(exc))
        response.status_code = 404
        return response

    def index(request: Request) -> Response:
        return page("index.html", **read(views.overview))

    def batch(request: Request) -> Response:
        name = request.path_params["name"]
        try:
            return page("batch.html", **read(lambda e: views.batch_page(e, name)))
        except NotFoundError as exc:
            return not_found(exc)

    def user(request: Request) -> Response:
        identity = request.path_params["identity"]
        try:
            return page("user.html", **read(lambda e: views.user_page(e, identity)))
        except NotFoundError as exc:
            return not_found(exc)

    def overview_json(request: Request) -> Response:
        return JSONResponse(read(views.overview))

    def batch_json(request: Request) -> Response:
        name = request.path_params["name"]
        try:
            return JSONResponse(read(lambda e: views.batch_page(e, name)))
        except NotFoundError as exc:
            return JSONResponse({"error": str(exc)}, 404)

    def report_csv(request: Request) -> Response:
        batch_name = request.query_params.get("batch") or None
        try:
            text = read(lambda e: views.statistics_csv(e, batch_name))
        except NotFoundError as exc:
            return not_found(exc)
        # a header is Latin-1 and a batch name may be anything: keep a safe ASCII file name
        filename = re.sub(r"[^A-Za-z0-9._-]", "_", f"{batch_name or 'all'}-statistics.csv")
        return Response(text.encode("utf-8"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    def throughput_svg(request: Request) -> Response:
        name = request.query_params.get("batch") or ""
        try:
            text = read(lambda e: views.throughput_svg(e, name))
        except NotFoundError as exc:
            return not_found(exc)
        return Response(text, media_type="image/svg+xml")

    def metrics_text(request: Request) -> Response:
        return Response(read(metrics.exposition), media_type=CONTENT_TYPE_LATEST)

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/batches/{name:path}", batch, methods=["GET"]),
        Route("/users/{identity:path}", user, methods=["GET"]),
        Route("/api/overview.json", overview_json, methods=["GET"]),
        Route("/api/batches/{name:path}", batch_json, methods=["GET"]),
        Route("/report.csv", report_csv, methods=["GET"]),
        Route("/chart/throughput.svg", throughput_svg, methods=["GET"]),
        Route("/metrics", metrics_text, methods=["GET"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    return Starlette(routes=routes, middleware=[Middleware(TokenGate, token=token)])
