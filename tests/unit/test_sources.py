"""Reading inputs from files, directories and stdin (pipeline/connectors/sources/files.py), no broker."""

import io
from pathlib import Path

from pipeline.connectors.sources.files import InputProblem, Skipped, read_inputs
from pipeline.errors import RejectedInput
from pipeline.stages.chain import DLQ_PAYLOAD_LIMIT, dead_letter
from schemas import RawArticle


def test_an_oversized_input_keeps_its_head_and_says_it_was_truncated(tmp_path):
    big = tmp_path / "big.txt"
    big.write_bytes(b"word " * 1_000_000)  # 5 MB
    [p] = read_inputs([big], max_bytes=2_000_000)
    assert isinstance(p, InputProblem) and "over the limit" in p.reason and p.size == 5_000_000
    dl = dead_letter(RejectedInput("ingest", p.origin, p.reason), p.payload, size=p.size)
    assert dl.payload_truncated is True and 0 < len(dl.payload) <= DLQ_PAYLOAD_LIMIT
    [s] = read_inputs(["-"], max_bytes=1000, stdin=io.BytesIO(b"word " * 1000))
    assert isinstance(s, InputProblem)
    assert dead_letter(RejectedInput("ingest", s.origin, s.reason), s.payload, size=s.size).payload_truncated
    small = dead_letter(RejectedInput("parse", "x", "empty"), b"short")
    assert small.payload_truncated is False


def test_a_directory_walk_skips_hidden_folders_other_files_and_symlinks_out_and_says_so(tmp_path):
    root = tmp_path / "articles"
    (root / ".git").mkdir(parents=True)
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (root / "sub").mkdir()
    (root / "a.txt").write_text("Port strike\n\nDock workers stopped work over pay on Monday.")
    (root / "sub" / "b.html").write_text("<html><body><p>x</p></body></html>")
    (root / "data.csv").write_text("a,b\n1,2\n")
    (root / ".hidden.txt").write_text("secret")
    outside = tmp_path / "passwd.txt"
    outside.write_text("root:x:0:0:root:/root:/bin/bash\n")
    (root / "passwd.txt").symlink_to(outside)
    (root / "etc").symlink_to(tmp_path, target_is_directory=True)
    (root / "again.txt").symlink_to(root / "a.txt")  # a symlink inside the folder is read
    skipped = Skipped()
    got = list(read_inputs([root], max_bytes=2_000_000, skipped=skipped))
    assert sorted(Path(r.origin).name for r in got) == ["a.txt", "a.txt", "b.html"]
    assert all(isinstance(r, RawArticle) for r in got)
    assert skipped.hidden == [str(root / ".git") + "/", str(root / ".hidden.txt")]
    assert skipped.not_articles == [str(root / "data.csv")]
    assert sorted(skipped.outside) == [f"{root / 'etc'}/ -> {tmp_path}", f"{root / 'passwd.txt'} -> {outside}"]
    lines = skipped.lines()
    assert len(lines) == 3 and lines[0].startswith("skipped 2 hidden") and "data.csv" in lines[1]
    assert "not followed" in lines[2]
    # a file named on its own is read whatever its extension
    [csv] = read_inputs([root / "data.csv"], max_bytes=2_000_000)
    assert isinstance(csv, RawArticle)


def test_process_dot_says_what_it_skipped(tmp_path):
    from tests.unit.test_cli import newsflow

    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    (tmp_path / "passwd").symlink_to("/etc/passwd")
    r = newsflow("process", ".", cwd=tmp_path)
    err = r.stderr.decode()
    assert r.returncode == 1 and r.stdout == b"" and "Traceback" not in err
    assert "skipped 1 hidden folder(s) and file(s): .git/" in err and ": data.csv" in err
    assert "passwd -> /etc/passwd" in err and "directory holds no article files" in err
