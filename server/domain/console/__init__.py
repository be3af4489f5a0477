"""The support console: server-rendered pages at ``/console`` where agents and admins work the tickets.

Jinja2 templates (``templates/``), progressively enhanced by htmx and a few lines of our own script, served from
this origin under the console's strict CSP (``static/``). Sign-in uses the accounts slice's sessions (a cookie per
browser, :mod:`.session`); every page is written the same way (:mod:`.pages`). The work is the other slices': on
tickets the tickets slice's (its services, event hub and access log), the knowledge review the knowledge slice's
(:mod:`.kb_pages`), user administration the accounts slice's (:mod:`.admin_pages`, admins only). The app registers
:func:`console_routers` and :func:`template_config`.
"""

from server.domain.console.router import console_routers
from server.domain.console.templating import template_config

__all__ = ["console_routers", "template_config"]
