"""Offline guarantees: sockets beyond loopback are blocked in tests; telemetry is off."""

import os
import socket
import subprocess
import sys

import pytest
from pytest_socket import SocketBlockedError, SocketConnectBlockedError


@pytest.mark.filterwarnings("ignore:A test tried to use socket")
def test_outside_network_is_blocked_for_the_whole_suite():
    with pytest.raises((SocketBlockedError, SocketConnectBlockedError)):
        socket.create_connection(("192.0.2.1", 80), timeout=1)


def _in_fresh_python(code: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANONYMIZED", "GRADIO", "HF_", "TIKTOKEN", "NLTK"))}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout


def test_importing_qa_leaves_the_hosts_environment_and_loggers_alone():
    # Dependencies first: nltk sets KMP_* variables when imported; that is
    # theirs. What is checked is what docqa itself adds on import and when it loads its tokenizer.
    out = _in_fresh_python(
        "import logging, os; import nltk, chromadb, tiktoken, llama_index.core; "
        "levels = lambda: [logging.getLogger(n).level for n in ('chromadb', 'pypdf', 'root')]; "
        "env, before = dict(os.environ), levels(); import qa; "
        "from qa.index.chunking import cl100k; cl100k(); "
        "print(dict(os.environ) == env, levels() == before)"
    )
    assert out.split() == ["True", "True"]


def test_programs_turn_telemetry_and_hub_off():
    out = _in_fresh_python(
        "import os; from qa import offline; offline.prepare(); "
        "print(os.environ['ANONYMIZED_TELEMETRY'], os.environ['GRADIO_ANALYTICS_ENABLED'], "
        "os.environ['HF_HUB_OFFLINE'], os.environ['TIKTOKEN_CACHE_DIR'].endswith('_static/tiktoken_cache'))"
    )
    assert out.split() == ["False", "False", "1", "True"]


def test_tokenizer_loads_without_network():
    from qa.index.chunking import cl100k

    assert len(cl100k().encode("Lei Jun founded Xiaomi in 2010.")) > 5
