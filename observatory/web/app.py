"""``create_app(settings)``: the website and its JSON API as one ASGI app. Nothing happens at import
time; the database is opened here and the executor started by the app's lifespan."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from observatory import __version__
from observatory.jobs import Executor, LocalExecutor
from observatory.storage import Database, open_database
from observatory.web import errors, views
from observatory.web.deps import RenderCache
from observatory.web.proxy import BodyLimit, ProxyHeaders
from observatory.web.security import Csrf, SecurityHeaders
from observatory.web.settings import SiteSettings
from observatory.web.submit import Admission, refuse_blocked
from reports.html import TEMPLATES as REPORT_TEMPLATES

HERE = Path(__file__).parent


@dataclass
class Site:
    """What every route needs, on ``app.state.site``."""

    settings: SiteSettings
    database: Database
    executor: Executor
    templates: Jinja2Templates
    csrf: Csrf
    admissions: list[Admission] = field(default_factory=list)
    cache: RenderCache = field(default_factory=RenderCache)


def _templates() -> Jinja2Templates:
    from jinja2 import ChoiceLoader, Environment, FileSystemLoader

    environment = Environment(
        loader=ChoiceLoader([FileSystemLoader(HERE / "templates"), FileSystemLoader(REPORT_TEMPLATES)]),
        auto_reload=False,  # templates ship with the package: no stat() per include per request
        autoescape=True,  # every template, whatever its name: remote servers' strings end up in all of them
        trim_blocks=True,
        lstrip_blocks=True,
    )
    views.register(environment)
    return Jinja2Templates(env=environment)


def create_app(settings: SiteSettings | None = None, *, executor: Executor | None = None) -> FastAPI:
    settings = settings or SiteSettings()
    database = open_database(settings.database_url, migrate=True if settings.migrate else None)
    if executor is None and settings.broker_url:
        from observatory.jobs.distributed import CeleryExecutor, redis_url_for

        redis_url = redis_url_for(settings.broker_url, settings.redis_url)
        executor = CeleryExecutor(database, settings.scan, settings.broker_url, redis_url, settings.namespace)
    executor = executor or LocalExecutor(database, settings.scan, settings.concurrency)
    site = Site(settings, database, executor, _templates(), Csrf(settings.secret_key))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await executor.start()
        # Everything built so far lives as long as the process: keep it out of the collector's full
        # passes, which otherwise walk it all and stall requests for tens of milliseconds.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await executor.stop()
            database.dispose()

    app = FastAPI(
        title=f"{settings.site_name} API",
        version=__version__,
        description="Security and compliance reports of XMPP servers. Errors are application/problem+json.",
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.site = site
    app.state.paths = {}
    app.state.badges = RenderCache(size=10_000)
    site.admissions.append(refuse_blocked)
    # Outermost last: the body bound, then the proxy headers, then every response's security headers.
    app.add_middleware(SecurityHeaders)
    app.add_middleware(ProxyHeaders, proxies=settings.trusted_proxies)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    errors.install(app)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    from observatory.web.routes import api, badges, pages

    app.include_router(api.router)
    app.include_router(badges.router)
    app.include_router(pages.router)
    return app
