"""Reading inputs from files, directories and stdin (pipeline/connectors/sources/files.py), no broker."""

import io

from pipeline.connectors.sources.files import InputProblem, read_inputs
from pipeline.errors import RejectedInput
from pipeline.stages.chain import DLQ_PAYLOAD_LIMIT, dead_letter


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
