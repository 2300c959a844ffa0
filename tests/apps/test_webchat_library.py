"""The web chat's notebook and document endpoints through `gradio_client`, against the real server:
hostile files, limits, and logged-in users kept apart."""

import pytest
from gradio_client import Client, handle_file

from qa.eval.checks import citation_holds


@pytest.fixture(scope="module")
def client(chat_server) -> Client:
    return Client(chat_server, verbose=False)


def _files(tmp_path, named: dict[str, bytes]) -> list:
    paths = []
    for name, data in named.items():
        path = tmp_path / name
        path.write_bytes(data)
        paths.append(handle_file(str(path)))
    return paths


def test_a_notebook_takes_uploads_answers_from_them_and_forgets_them(client, tmp_path):
    book = client.predict("Office", api_name="/create_notebook")
    assert book["name"] == "Office" and book["id"] in {b["id"] for b in client.predict(api_name="/notebooks")}
    report = client.predict(
        book["id"],
        _files(
            tmp_path,
            {
                "notes.md": b"# Office\n\nThe meeting room is on the fourth floor. It seats twelve people.\n",
                "binary.txt": b"\x00\x01\x02\x03 not text",
                "report.pdf": b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 64,
                "empty.txt": b"",
                "....etc....passwd.md": b"root:x:0:0:root:/root:/bin/bash\n",
            },
        ),
        api_name="/upload",
    )
    assert sorted(s.rsplit("/", 1)[1] for s in report["added"]) == ["etc....passwd.md", "notes.md"]
    assert all(f"/{book['id']}/" in source for source in report["added"]), "uploads stay in the notebook's folder"
    problems = " | ".join(report["errors"])
    assert "binary.txt: binary content" in problems and "report.pdf: binary content" in problems
    assert "empty.txt: the file is empty" in problems

    documents = client.predict(book["id"], api_name="/documents")
    notes = next(d for d in documents if d["source"].endswith("notes.md"))
    reply = client.predict("Which floor is the meeting room on?", [], None, None, None, book["id"], api_name="/ask")
    assert reply["supported"] and "fourth floor" in reply["answer"]
    assert citation_holds(reply["citations"][0], lambda source: open(source, encoding="utf-8").read())
    other = client.predict("Which floor is the meeting room on?", [], api_name="/ask")
    assert not other["supported"], "the default notebook does not see another notebook's documents"
    elsewhere = [d["id"] for d in documents if d["id"] != notes["id"]]
    restricted = client.predict(
        "Which floor is the meeting room on?", [], None, None, elsewhere, book["id"], api_name="/ask"
    )
    assert not restricted["supported"]

    assert client.predict(book["id"], notes["id"], api_name="/remove") is True
    assert client.predict(book["id"], notes["id"], api_name="/remove") is False
    assert notes["id"] not in {d["id"] for d in client.predict(book["id"], api_name="/documents")}


def test_twenty_files_at_once_go_in_and_twenty_one_are_refused_whole(client, tmp_path):
    book = client.predict("Many", api_name="/create_notebook")
    twenty = _files(
        tmp_path, {f"note{n}.txt": f"Note {n} says the code word is word{n}.\n".encode() for n in range(20)}
    )
    assert len(client.predict(book["id"], twenty, api_name="/upload")["added"]) == 20
    more = _files(tmp_path / "..", {f"more{n}.txt": f"More {n}.\n".encode() for n in range(21)})
    with pytest.raises(Exception, match="21 files in one upload; the limit is 20"):
        client.predict(book["id"], more, api_name="/upload")
    assert len(client.predict(book["id"], api_name="/documents")) == 20


def test_unknown_notebooks_and_bad_names_are_clear_errors(client):
    with pytest.raises(Exception, match="No notebook 'nbnothere'"):
        client.predict("nbnothere", api_name="/documents")
    with pytest.raises(Exception, match="A notebook needs a name"):
        client.predict("  \x00 ", api_name="/create_notebook")


def test_logged_in_users_see_only_their_own_notebooks(login_chat_server, tmp_path):
    ann = Client(login_chat_server, auth=("ann", "first-pass"), verbose=False)
    bob = Client(login_chat_server, auth=("bob", "second:pass"), verbose=False)
    book = ann.predict("Ann's", api_name="/create_notebook")
    assert book["owner"] == "ann"
    assert [b["id"] for b in bob.predict(api_name="/notebooks")] == ["default"]
    with pytest.raises(Exception, match="No notebook"):
        bob.predict(book["id"], api_name="/documents")
    with pytest.raises(Exception, match="No notebook"):
        bob.predict("Who?", [], None, None, None, book["id"], api_name="/ask")
    with pytest.raises(Exception, match="The shared notebook cannot be changed"):
        bob.predict("default", _files(tmp_path, {"x.txt": b"Some text here.\n"}), api_name="/upload")
    with pytest.raises(ValueError, match="exceeds the maximum file size of 200000 bytes"):
        ann.predict(book["id"], _files(tmp_path, {"big.txt": b"word " * 50_000}), api_name="/upload")
    assert ann.predict(book["id"], api_name="/documents") == []
