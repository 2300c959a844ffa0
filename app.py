"""docqa's web chat: `python app.py` serves the bundled article on http://127.0.0.1:7860.

A thin entry point; the page lives in `qa/apps/webchat/` and answers come from `qa.QAService`.
Every setting can also come from `QA_*` variables or `qa.toml` (see the README).
"""

import argparse
import sys

from qa.apps.webchat.server import main


def _arguments() -> dict:
    parser = argparse.ArgumentParser(description="docqa web chat")
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1, or QA_HOST)")
    parser.add_argument("--port", type=int, help="port (default 7860, or QA_PORT)")
    parser.add_argument("--index-dir", help="index folder (default index/, or QA_INDEX_DIR)")
    parser.add_argument("--collection", help="corpus name in the index (default docqa)")
    return vars(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main(**_arguments()))
