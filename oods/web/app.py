"""The status page: a Starlette app serving the page and the JSON API behind each view.

Every number on the page comes from ``/api/...``, so other tools read the same ones:

- ``GET /api/night?instrument=&day_obs=&exposure=`` - the first paint: the nights, one
  night's exposures with detectors arrived / failed / corrected of those expected, the
  focal-plane map of one exposure (default: the latest night and its last exposure) and
  the ingest timeline;
- ``GET /api/focal-plane?instrument=&exposure=`` - one exposure's map;
- ``GET /api/site`` - retention classes against capacity, catalog version, replica backlog;
- ``GET /api/calib?instrument=&exposure=&collections=a,b&types=bias,dark,flat`` - which
  calibration each detector gets, searching the collections in order;
- ``GET /api`` - this list.

The catalog snapshot is loaded once and refreshed at most every ``refresh_seconds``, so a
page reload answers from memory. Scripts and styles ship in ``static/``: nothing is
fetched from the internet (the summit network is closed).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable
from importlib.resources import files
from pathlib import Path
from typing import Any, TypeVar

import duckdb
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from catalog import CatalogError, Snapshot

from ..errors import OodsError
from ..site import Site
from .calib_view import CALIBRATION_TYPES, calib_view, collections
from .night import focal_plane, night_view
from .site_view import site_view

T = TypeVar("T")
STATIC = Path(str(files("oods.web") / "static"))
API = {
    "/api/night": "instrument, day_obs, exposure (all optional): the night view's first paint",
    "/api/focal-plane": "instrument, exposure: one exposure's detectors and their states",
    "/api/site": "retention classes vs capacity, catalog version, plug-in panels (replica)",
    "/api/calib": "instrument, exposure, collections (comma-separated, in search order), types",
}


class BadRequest(ValueError):
    """A query parameter that is missing or malformed: answered 400 with its name."""


class CatalogView:
    """One snapshot shared by the requests, refreshed when older than ``refresh_seconds``.

    DuckDB connections are not for concurrent use, so requests take turns (a lock):
    each answers in milliseconds from memory.
    """

    def __init__(self, site: Site, refresh_seconds: float = 5.0) -> None:
        self.site = site
        self.refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._loaded = 0.0

    def read(self, answer: Callable[[Snapshot], T]) -> T:
        with self._lock:
            now = time.monotonic()
            if self._snapshot is None:
                self._snapshot = self.site.snapshot()
                self._loaded = now
            elif now - self._loaded >= self.refresh_seconds:
                self._snapshot.refresh()
                self._loaded = now
            return answer(self._snapshot)

    def close(self) -> None:
        with self._lock:
            if self._snapshot is not None:
                self._snapshot.close()
                self._snapshot = None


def create_app(
    site: Site, config_path: Path | None = None, refresh_seconds: float = 5.0
) -> Starlette:
    """The status page app for ``site`` (``config_path``: where ``[retention]`` and
    ``[sites.*]`` are read from, as the CLI's ``--config``)."""
    view = CatalogView(site, refresh_seconds)

    def night(request: Request) -> Response:
        q = request.query_params
        return _answer(
            lambda: view.read(
                lambda s: night_view(
                    s.connection,
                    q.get("instrument") or None,
                    _integer(q, "day_obs"),
                    _integer(q, "exposure"),
                )
            )
        )

    def focal(request: Request) -> Response:
        q = request.query_params

        def build() -> dict[str, Any]:
            instrument, exposure = _required(q, "instrument"), _required_integer(q, "exposure")
            return view.read(lambda s: focal_plane(s.connection, instrument, exposure))

        return _answer(build)

    def calib(request: Request) -> Response:
        q = request.query_params

        def build(snapshot: Snapshot) -> dict[str, Any]:
            known = collections(snapshot)
            search = _names(q.get("collections")) or known
            types = _names(q.get("types")) or list(CALIBRATION_TYPES)
            answer = calib_view(
                snapshot,
                _required(q, "instrument"),
                _required_integer(q, "exposure"),
                search,
                types,
            )
            return {**answer, "known_collections": known}

        return _answer(lambda: view.read(build))

    site_lock = threading.Lock()  # the panels use the site's own snapshot: one at a time

    def site_status(request: Request) -> Response:
        def build() -> dict[str, Any]:
            with site_lock:
                return site_view(site, config_path)

        return _answer(build)

    def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html")

    def api(request: Request) -> Response:
        return JSONResponse({"endpoints": API})

    app = Starlette(
        routes=[
            Route("/", index),
            Route("/api", api),
            Route("/api/night", night),
            Route("/api/focal-plane", focal),
            Route("/api/site", site_status),
            Route("/api/calib", calib),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        lifespan=_closing(view),
    )
    app.state.view = view
    return app


def _closing(view: CatalogView) -> Callable[[Starlette], Any]:
    """The app's lifespan: the snapshot's DuckDB connection is closed at shutdown."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        view.close()

    return lifespan


def _answer(build: Callable[[], Any]) -> Response:
    """JSON, or one line saying what went wrong: 400 for a bad parameter, 404 for an
    exposure not in the catalog, 503 when the catalog or the storage cannot be read."""
    try:
        return JSONResponse(build())
    except BadRequest as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    except LookupError as exc:
        return JSONResponse({"error": str(exc).strip("'\"")}, status_code=404)
    except (OodsError, CatalogError, OSError) as exc:
        return JSONResponse({"error": _line(exc)}, status_code=503)
    except duckdb.Error as exc:
        return JSONResponse({"error": _line(exc)}, status_code=500)


def _line(exc: Exception) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def _integer(params: Any, name: str) -> int | None:
    text = params.get(name)
    if text in (None, ""):
        return None
    try:
        return int(text)
    except ValueError:
        raise BadRequest(f"{name}: {text!r} is not an integer") from None


def _required(params: Any, name: str) -> str:
    text = params.get(name)
    if not text:
        raise BadRequest(f"{name} is required")
    return str(text)


def _required_integer(params: Any, name: str) -> int:
    value = _integer(params, name)
    if value is None:
        raise BadRequest(f"{name} is required")
    return value


def _names(text: str | None) -> list[str]:
    return [n.strip() for n in (text or "").split(",") if n.strip()]
