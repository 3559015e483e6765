"""The verification page: static HTML, JavaScript and CSS that check a receipt in the browser
(README "Verification page"). Opened from disk, or served by a node (node/page.py)."""

from pathlib import Path

PAGE_DIR = Path(__file__).parent
"""The folder of the page's files; ``index.html`` is the page."""
