"""The Gradio page's tabs: one module per tab (widgets, handlers and wiring), assembled by `app.py`."""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline-first, even when a tab module is imported alone
