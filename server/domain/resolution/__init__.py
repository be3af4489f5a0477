"""AI resolution: from a ticket's description and screenshots to a cited, streamed answer.

:class:`~server.domain.resolution.engine.Resolver` finds the best knowledge-base passages (hybrid search on the
description and the error text read from the screenshots), then either streams a chat model's answer grounded in
those numbered passages, or (no model configured, or the model failed) an answer built from the articles' own
resolution steps. Triage (category, priority) runs beside the answer and never delays its first token. The slice has
no routes and no tables: the tickets slice stores the :class:`~server.domain.resolution.schemas.Outcome` and turns the
events into Server-Sent Events.
"""
