"""Line splitting of JSON-lines streams: chunk boundaries and over-long lines."""

from __future__ import annotations

import io

import pytest

from huntwatch.telemetry.readers import _lines


@pytest.mark.parametrize("chunk", [1, 3, 7, 64])
def test_lines_are_whole_whatever_the_chunk_size(chunk: int) -> None:
    data = b'{"a":1}\r\n\n{"b":"two"}\n' + b"x" * 40 + b'\n{"c":3}'
    lines = list(_lines(io.BytesIO(data), max_bytes=20, chunk_bytes=chunk))
    # the 40-byte line is over the limit: it stands as None, and the lines around it are intact
    assert lines == [b'{"a":1}\r', b"", b'{"b":"two"}', None, b'{"c":3}']


def test_an_over_long_last_line_without_end_is_reported_once() -> None:
    lines = list(_lines(io.BytesIO(b"ok\n" + b"y" * 100), max_bytes=10, chunk_bytes=8))
    assert lines == [b"ok", None]
