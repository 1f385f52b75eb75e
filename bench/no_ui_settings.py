"""This project's store and policy, without the session_ui context processor (the page header's
session badge and timeout data): isolates what that processor costs per page in the throughput
benchmark."""

from bench.settings import *  # noqa: F403
from bench.settings import TEMPLATES

SESSION_UI = "sessions_admin.context_processors.session_ui"

TEMPLATES = [
    {
        **TEMPLATES[0],
        "OPTIONS": {
            **TEMPLATES[0]["OPTIONS"],
            "context_processors": [
                p for p in TEMPLATES[0]["OPTIONS"]["context_processors"] if p != SESSION_UI
            ],
        },
    }
]
