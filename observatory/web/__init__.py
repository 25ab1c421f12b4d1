"""The grading website: server-rendered pages (Jinja2, working without JavaScript), live progress over
Server-Sent Events, badges, and the JSON API under ``/api/v1``.

``create_app(SiteSettings(...))`` builds it; ``observatory serve`` runs it with uvicorn.
"""

from observatory.web.app import create_app
from observatory.web.settings import SiteSettings

__all__ = ["SiteSettings", "create_app"]
