"""The rough edges a new user hit following the docs (issue 19): each now behaves as documented."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest
from click.testing import CliRunner
from conftest import ToneEngine

import polyvox
from polyvox.cli import cli
from polyvox.config import load_settings
from polyvox.names import check_device
from polyvox.subtitles.srt import read_srt
from polyvox.subtitles.timing import TimingConfig

SRT = "1\n00:00:00,000 --> 00:00:01,000\nHello.\n\n2\n00:00:02,000 --> 00:00:03,000\nAgain.\n"


@pytest.mark.parametrize("bad", [{"tolerance": -1}, {"gap": -1}, {"keep_ms": -1}, {"silence_db": 0},
                                 {"crossfade_ms": -2}, {"fade_ms": -1}, {"tolerance": "soon"},
                                 {"gap": float("nan")}, {"min_ratio": "x"}])
def test_timing_config_bad_values_are_parameter_errors(bad: dict) -> None:
    with pytest.raises(polyvox.ParameterError) as raised:
        TimingConfig(**bad)
    assert next(iter(bad)) in str(raised.value) or "not a" in str(raised.value)


def test_read_srt_reads_a_file_named_by_a_str(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "film.srt").write_text(SRT, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert [c.text for c in read_srt("film.srt")] == ["Hello.", "Again."]
    assert [c.text for c in read_srt(str(tmp_path / "film.srt"))] == ["Hello.", "Again."]
    with pytest.raises(polyvox.ScriptError, match="cannot read subtitles 'missing.srt'"):
        read_srt("missing.srt")
    assert len(read_srt(SRT)) == 2  # SRT text is still SRT text


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:1", "mps", " CPU "])
def test_known_devices_pass(device: str) -> None:
    assert check_device(device) == device.strip().lower()


@pytest.mark.parametrize("device", ["gpu", "cuda:", "cuda:x", "tpu", ""])
def test_unknown_devices_are_refused_naming_the_allowed_ones(device: str, monkeypatch) -> None:
    with pytest.raises(polyvox.ParameterError, match="auto, cpu, cuda, cuda:N, mps"):
        check_device(device)
    if device:
        with pytest.raises(polyvox.ParameterError):
            polyvox.Kernel(device=device, cache=False, load_entry_points=False)
        with pytest.raises(polyvox.PolyvoxError, match="POLYVOX_DEVICE"):
            load_settings(environ={"POLYVOX_DEVICE": device})


def test_piper_refuses_cuda_it_cannot_have(tmp_path: Path) -> None:
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this machine has CUDA for onnxruntime")
    kernel = polyvox.Kernel(cache_dir=tmp_path, device="cuda", plugins=["piper"])
    with pytest.raises(polyvox.ModelError, match="piper cannot run on device 'cuda'"):
        kernel.synthesize("Hello.", engine="piper")


def test_a_missing_config_file_named_by_polyvox_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(polyvox.PolyvoxError, match="POLYVOX_CONFIG names .*missing.toml.*does not exist"):
        load_settings(environ={"POLYVOX_CONFIG": str(tmp_path / "missing.toml")})
    (tmp_path / "there.toml").write_text('seed = 7\n')
    assert load_settings(environ={"POLYVOX_CONFIG": str(tmp_path / "there.toml")}).value("seed") == 7


def test_uninstall_answered_no_removes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    import polyvox.plugin.installer as installer
    from polyvox.cli import options

    called = []
    monkeypatch.setattr(installer, "uninstall", lambda *a, **k: called.append(a))
    monkeypatch.setattr("polyvox.installing.uninstall", installer.uninstall)  # the CLI's face
    monkeypatch.setattr(options, "interactive", lambda: True)  # a terminal, answered "n"
    result = CliRunner().invoke(cli, ["uninstall", "kokoro"], input="n\n")
    assert result.exit_code == 0, result.output
    assert "nothing removed" in result.output and not called


def test_install_e_echoes_the_pip_command_with_e(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import polyvox.plugin.installer as installer

    folder = tmp_path / "polyvox-kokoro"
    folder.mkdir()
    (folder / "pyproject.toml").write_text("[project]\nname = 'polyvox-kokoro'\n")
    outcome = attrs.make_class("Outcome", ["added", "removed", "engines", "failures", "conflicts"])
    monkeypatch.setattr(installer, "install", lambda *a, **k: outcome({}, {}, ["piper"], [], []))
    monkeypatch.setattr("polyvox.installing.install", installer.install)  # the CLI's face
    result = CliRunner().invoke(cli, ["install", str(folder), "-e"])
    assert result.exit_code == 0, result.output
    assert f"pip install -e {folder}" in result.output


def test_workers_zero_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "s.txt").write_text("Hello.")
    result = CliRunner().invoke(cli, ["render", str(tmp_path / "s.txt"), "--workers", "0"])
    assert result.exit_code == 2


def test_a_language_from_the_alias_map_is_named_as_such(tmp_path: Path) -> None:
    voices = tmp_path / "voices"
    voices.mkdir()
    polyvox.testing.reference_voice(voices, "Bob", 110.0)
    (voices / "#character_alias_map.txt").write_text("Hans = Bob, fi\n")
    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", load_entry_points=False)
    kernel.register(ToneEngine())
    with pytest.raises(polyvox.UnsupportedLanguageError,
                       match="Hans's language 'fi' comes from the alias map of the voices folder; "
                             "no installed engine speaks 'fi'"):
        kernel.render("[Hans] Hello.", voices=voices)


def test_no_reference_audio_names_how_to_give_a_voices_folder(tmp_path: Path) -> None:
    class Cloner(ToneEngine):
        def spec(self) -> polyvox.EngineSpec:
            return attrs.evolve(super().spec(), capabilities=polyvox.Capabilities(needs_reference_audio=True))

    kernel = polyvox.Kernel(cache_dir=tmp_path / "cache", load_entry_points=False)
    kernel.register(Cloner())
    with pytest.raises(polyvox.VoiceError, match=r"--voices DIR or POLYVOX_VOICES"):
        kernel.synthesize("Hello.")


def test_a_plugin_name_no_plugin_has_is_said_where_nothing_speaks(tmp_path: Path) -> None:
    """Kernel(plugins=["pipr"]) loaded nothing without a word; the render's error blamed Piper."""
    kernel = polyvox.Kernel(cache=False, plugins=["pipr"])
    (failure,) = [f for f in kernel.failures if f.name == "pipr"]
    assert failure.kind == "unknown" and "piper" in failure.error
    with pytest.raises(polyvox.PolyvoxError, match="no plugin called 'pipr' is installed"):
        kernel.render("Hello.")


def test_an_output_whose_name_says_another_format_is_refused(tmp_path: Path) -> None:
    """render(output="x.wav", format="flac") wrote FLAC data into a .wav (the CLI refused it)."""
    kernel = polyvox.Kernel(cache=False, plugins=["template"])
    with pytest.raises(polyvox.PolyvoxError, match="format 'flac' does not match the extension"):
        kernel.render("Hello.", output=tmp_path / "x.wav", format="flac")
    assert not (tmp_path / "x.wav").exists()
    kernel.render("Hello.", output=tmp_path / "take", format="flac")  # a name without an audio extension: as asked
    assert (tmp_path / "take").read_bytes()[:4] == b"fLaC"


def test_public_helpers_and_arguments_refuse_the_wrong_type_in_one_line() -> None:
    """sentences(None), decode_text("abc") and ContentCache(5) raised Python's own errors;
    seed=True and volume=True were read as 1."""
    with pytest.raises(polyvox.PolyvoxError, match="takes the text as a str, not NoneType"):
        polyvox.sentences(None)  # type: ignore[arg-type]
    with pytest.raises(polyvox.PolyvoxError, match="takes the file's bytes, not str"):
        polyvox.decode_text("abc")  # type: ignore[arg-type]
    with pytest.raises(polyvox.PolyvoxError, match="cache directory 5 is not a path"):
        polyvox.ContentCache(5)  # type: ignore[arg-type]
    kernel = polyvox.Kernel(cache=False, plugins=["piper"])
    with pytest.raises(polyvox.PolyvoxError, match="seed True is not valid"):
        kernel.plan("Hi.", seed=True)
    with pytest.raises(polyvox.PolyvoxError, match="parameter volume=True is not valid"):
        kernel.plan("Hi.", params={"volume": True})
    assert [j.request.params["length_scale"] for j in kernel.plan("Hi.", params={"length_scale": "1.2"})] == [1.2]


def test_results_say_what_happened() -> None:
    """A voice of another engine than the one asked for was reported as the voice that spoke
    (Piper's default spoke); a cancelled render without a cache said its segments were cached."""
    kernel = polyvox.Kernel(cache=False, plugins=["piper", "hibari"])
    result = kernel.render("Hello there.", voice="heart", engine="piper")
    assert [(s.engine, s.voice) for s in result.segments] == [("piper", "default")]
    assert any("belongs to engine 'hibari'" in w for w in result.warnings)
    stop = polyvox.CancelToken()
    stop.cancel()
    with pytest.raises(polyvox.Cancelled, match="no cache: they are not kept"):
        polyvox.Kernel(cache=False, plugins=["template"]).render("Hi. Yo.", cancel=stop)
