"""The `qa` command: a thin adapter over QAService. Errors become one line and exit code 2."""

import argparse
import json
import logging
import sys
import time
from dataclasses import asdict
from pathlib import Path

import qa
from qa import offline
from qa.errors import IndexUnavailable, QAError
from qa.eval import squad
from qa.eval.golden import THRESHOLDS, evaluate, load_cases
from qa.index.chroma_client import set_aside
from qa.reply import Delta, Reply
from qa.service import QAService
from qa.settings import load_settings

EXIT_USAGE = 2
EXIT_BELOW_THRESHOLD = 1


def main(argv: list[str] | None = None) -> int:
    offline.prepare()
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return args.run(args)
    except QAError as exc:
        print(f"qa: error: {exc.user_message()}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def _service(args: argparse.Namespace) -> QAService:
    overrides = {
        k: v
        for k, v in {
            "index_dir": args.index_dir,
            "collection": args.collection,
            "model": getattr(args, "model", None),
        }.items()
        if v
    }
    return qa.load(**overrides)


def _ingest(args: argparse.Namespace) -> int:
    try:
        service = _service(args)
    except IndexUnavailable:
        index = args.index_dir or load_settings().index_dir
        if not (args.rebuild and (index / "chroma.sqlite3").exists()):
            raise
        print(f"The index at {index} cannot be read; moved it to {set_aside(index)} and rebuilding.")
        service = _service(args)
    report = service.ingest(
        args.paths or None, rebuild=args.rebuild, progress=sys.stderr.isatty(), follow_links=args.follow_links or None
    )
    print(
        f"added {len(report.added)}, updated {len(report.updated)}, unchanged {len(report.unchanged)}, "
        f"removed {len(report.removed)}: {report.chunks} chunks, {report.sentences} sentences "
        f"in {report.seconds:.1f} s"
    )
    for note in report.skipped:
        print(f"qa: warning: skipped {note}", file=sys.stderr)
    for error in report.errors:
        print(f"qa: error: {error.user_message()}", file=sys.stderr)
    return EXIT_USAGE if report.errors else 0


def _ask(args: argparse.Namespace) -> int:
    reply = _service(args).ask(" ".join(args.question), top_k=args.top_k, explain=args.explain)
    if args.json:
        print(json.dumps(reply.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(format_reply(reply))
        if reply.explanation is not None:
            print("\n".join(reply.explanation.lines()))
    return 0


def format_reply(reply: Reply) -> str:
    """The answer, then one line per citation: source, offsets and the quoted passage."""
    lines = [reply.answer]
    for c in reply.citations:
        quote = c.text if len(c.text) <= 160 else c.text[:157] + "..."
        lines.append(f'  [{c.number}] {c.source}, chars {c.start}-{c.end}: "{quote}"')
    return "\n".join(lines)


def _chat(args: argparse.Namespace) -> int:
    service = _service(args)
    history: list[dict[str, str]] = []
    print("Ask about the documents. Empty line or Ctrl-D to quit; /clear forgets the conversation.")
    while True:
        try:
            question = input("you> ").strip()
        except EOFError:
            print()
            return 0
        if not question:
            return 0
        if question == "/clear":
            history.clear()
            continue
        try:
            reply = _stream_to_terminal(service, question, history)
        except QAError as exc:
            print(f"qa: {exc.user_message()}")
            continue
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": reply.answer}]


def _stream_to_terminal(service: QAService, question: str, history: list[dict[str, str]]) -> Reply:
    final = None
    print("qa> ", end="", flush=True)
    for event in service.stream(question, history=history):
        if isinstance(event, Delta):
            print(event.text, end="", flush=True)
        else:
            final = event
    print()
    assert final is not None, "answer models always end with a Reply"
    for line in format_reply(final).splitlines()[1:]:
        print(line)
    return final


def _eval(args: argparse.Namespace) -> int:
    if squad.is_squad(Path(args.file)):
        return _eval_squad(args)
    service = _service(args)
    report = evaluate(service, load_cases(Path(args.file)))
    verifier = getattr(service.model, "totals", None)  # LLM backends count what their verifier did
    if args.json:
        print(
            json.dumps(
                {
                    "metrics": report.metrics,
                    "by_kind": report.by_kind,
                    "failures": [o.case.id for o in report.failures()],
                    **({"verifier": asdict(verifier)} if verifier else {}),
                },
                indent=2,
            )
        )
    else:
        print(_table(report))
        if verifier:
            print(
                f"verifier: {verifier.markers} citations written, {verifier.kept} kept, {verifier.dropped} dropped, "
                f"{verifier.repaired} repaired, {verifier.added} added post hoc; "
                f"{verifier.unsupported_sentences} of {verifier.sentences} sentences left out"
            )
    return 0 if report.passed() else EXIT_BELOW_THRESHOLD


def _eval_squad(args: argparse.Namespace) -> int:
    overrides = {"index_dir": args.index_dir, "model": args.model}
    settings = load_settings(**{k: v for k, v in overrides.items() if v})
    results = squad.evaluate_file(Path(args.file), settings, args.limit, progress=sys.stderr.isatty())
    found = squad.metrics(results)
    if args.json:
        print(json.dumps({**found, "questions": squad.per_question(results)}, indent=2))
    else:
        print("\n".join(f"{k:<22}{v:>10.3f}" if isinstance(v, float) else f"{k:<22}{v:>10}" for k, v in found.items()))
    return 0


def _table(report) -> str:
    keys = ["cases", "answer_accuracy", "citation_precision", "evidence_hit@k", "refusal_accuracy", "latency_p50_ms"]
    rows = [["all"] + [report.metrics[k] for k in keys]]
    rows += [[kind] + [m[k] for k in keys] for kind, m in report.by_kind.items()]
    out = ["kind".ljust(14) + "".join(k.rjust(20) for k in keys)]
    out += [
        str(r[0]).ljust(14) + "".join(f"{v:20.3f}" if isinstance(v, float) else str(v).rjust(20) for v in r[1:])
        for r in rows
    ]
    out.append("thresholds: " + ", ".join(f"{k} >= {v}" for k, v in THRESHOLDS.items()))
    out += [f"FAIL {o.case.id}: {o.case.question} -> {o.reply.answer[:120]}" for o in report.failures()]
    out.append("PASSED" if report.passed() else "BELOW THRESHOLDS")
    return "\n".join(out)


def _docs(args: argparse.Namespace) -> int:
    service = _service(args)
    if args.text:
        text = service.document_text(args.text)
        if text is None:
            raise QAError(f"{args.text} is not in the index.", hint="`qa docs` lists the indexed sources.")
        print(text)
        return 0
    documents = service.documents()
    for d in documents:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(d.ingested_at))
        print(
            f"{d.source}\t{d.chunks} chunks\t{d.sentences} sentences\tsha256:{d.content_hash[:12]}\t"
            f"{when}\t{d.title[:60]}"
        )
    print(f"{len(documents)} documents in collection {service.settings.collection}", file=sys.stderr)
    return 0


def _remove(args: argparse.Namespace) -> int:
    service = _service(args)
    missing = [source for source in args.sources if not service.remove(source)]
    for source in args.sources:
        print(f"{'not indexed' if source in missing else 'removed'}: {source}")
    if missing:
        raise QAError(
            f"{len(missing)} of {len(args.sources)} sources were not in the index.",
            hint="`qa docs` lists the indexed sources.",
        )
    return 0


def _serve(args: argparse.Namespace) -> int:
    from qa.apps.webchat.server import main as serve

    return serve(host=args.host, port=args.port, index_dir=args.index_dir, collection=args.collection)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa", description="Ask questions of your documents, with citations.")
    parser.add_argument("--index-dir", type=Path, help="index folder (default: index/, or QA_INDEX_DIR)")
    parser.add_argument("--collection", help="collection name, one per corpus (default: docqa, or QA_COLLECTION)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    parser.add_argument("--version", action="version", version=f"docqa {qa.__version__}")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", help="index files and folders (default: seeds/)")
    p.add_argument("paths", nargs="*", type=Path)
    p.add_argument("--rebuild", action="store_true", help="drop the collection and index from scratch")
    p.add_argument(
        "--follow-links",
        action="store_true",
        help="also ingest what symbolic links inside a folder lead to outside it (default: skipped, with a warning)",
    )
    p.set_defaults(run=_ingest)

    p = sub.add_parser("ask", help="ask one question")
    p.add_argument("question", nargs="+")
    p.add_argument("--json", action="store_true", help="print the reply as JSON")
    p.add_argument("--top-k", type=int, default=None, help="passages to retrieve (1-50)")
    p.add_argument(
        "--explain",
        action="store_true",
        help="also show the best evidence runs, their features and probabilities, and why it answered or refused",
    )
    _model_option(p)
    p.set_defaults(run=_ask)

    p = sub.add_parser("chat", help="chat in the terminal; follow-up questions understand the conversation")
    _model_option(p)
    p.set_defaults(run=_chat)

    p = sub.add_parser("serve", help="serve the web chat and its /ask API (default http://127.0.0.1:7860)")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1, or QA_HOST)")
    p.add_argument("--port", type=int, help="port (default 7860, or QA_PORT)")
    p.set_defaults(run=_serve)

    p = sub.add_parser(
        "eval",
        help="run a golden JSONL file (checks thresholds) or a SQuAD .json file (indexed in a collection of its own)",
    )
    p.add_argument("file")
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int, default=None, help="SQuAD: ask only the first N questions")
    _model_option(p)
    p.set_defaults(run=_eval)

    p = sub.add_parser("docs", help="list the indexed documents: source, chunks, sentences, hash, when")
    p.add_argument("--text", metavar="SOURCE", help="print the text that SOURCE's citation offsets index")
    p.set_defaults(run=_docs)

    p = sub.add_parser("remove", help="remove documents from the index by source (as `qa docs` lists them)")
    p.add_argument("sources", nargs="+")
    p.set_defaults(run=_remove)
    return parser


def _model_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model",
        choices=["extractive", "openai-compatible"],
        help="answer model (default: extractive, or QA_MODEL); the LLM server is set by QA_LLM_BASE_URL, "
        "QA_LLM_MODEL and QA_LLM_API_KEY",
    )


if __name__ == "__main__":
    sys.exit(main())
