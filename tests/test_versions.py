"""The versions in every cache key (polyvox.plugin.versions) read from the metadata's headers
alone: the same as importlib.metadata's, for every distribution installed here and for one
whose long description has lines that look like headers."""

from __future__ import annotations

import sys
from importlib import metadata

from polyvox.plugin import versions


def test_every_installed_distribution_has_the_version_importlib_reads():
    names = sorted({d.metadata["Name"] for d in metadata.distributions()})
    assert len(names) > 20  # numpy, piper-tts, onnxruntime, ... are here
    assert {n: versions.package_versions(n)[n] for n in names} == {n: metadata.version(n) for n in names}


def test_a_description_that_quotes_a_version_header_is_not_read(tmp_path, monkeypatch):
    info = tmp_path / "quoting-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\r\nName: quoting\r\nVersion: 1.2.3\r\n"
                                   "Requires-Dist: numpy\r\n\r\nUpgrading:\r\nVersion: 0.9\r\n")
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    assert versions.package_versions("quoting") == {"numpy": metadata.version("numpy"), "quoting": "1.2.3"}
    assert metadata.version("quoting") == "1.2.3"
