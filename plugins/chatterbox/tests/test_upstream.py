"""The plugin renders what chatterbox-tts 0.1.7's own `generate` renders, for each model.

Upstream's side is its public path: `ChatterboxTTS.generate`, `ChatterboxMultilingualTTS.generate`
(with a `language_id`) and `ChatterboxTurboTTS.generate`, each given the reference file's path
(so its own `prepare_conditionals` reads it), its own default parameters and
`torch.manual_seed(seed)` first, as upstream tells users to seed. The plugin's side is the kernel
(`Kernel.synthesize`) with the plugin's defaults and the same seed. Both run on the same loaded
T3, S3Gen and voice encoder: upstream's `from_local` hard-codes the full-size T3 and cannot
load the tiny checkpoint (the weights step checks the plugin loaded the files as `from_local`
would: every tensor in every file equals the loaded one).

Spies record what each side hands the next stage, so a regression names its step: the weights,
the conditioning from the reference (speaker embedding, T3's speech prompt, exaggeration,
S3Gen's reference dict), the text tokens T3 reads (normalisation and tokenizer), the speech
tokens S3Gen receives, S3Gen's flow schedule, S3Gen's waveform, and the watermarked output.

Deliberate differences, handled here and listed in the README:
- Token budget: upstream hard-codes 1000 speech tokens; random weights rarely stop, and S3Gen
  is full size, so upstream's T3 call is given `MAX_TOKENS` and the plugin `max_new_tokens`.
- Clipping: the plugin clips its output to [-1, 1] (float32); upstream returns the watermarker's
  output unclipped, so upstream's output is clipped before the last comparison.
- Seeding: the plugin seeds inside `torch.random.fork_rng`; upstream uses the global generator.
  Same numbers: the test seeds upstream the way the plugin's stream is seeded.
- The multilingual tokenizer: upstream's `MTLTokenizer.__init__` reaches the hub and downloads
  pkuseg's model, so upstream's side uses the plugin's instance of that same class (built from
  the same file, the Chinese converter deferred); the English and Turbo tokenizers are built
  fresh, the way `from_local` builds them.
- Out-of-range ids (multilingual): upstream's generate hands ids >= 6561 to S3Gen, which fails;
  the upstream spy drops them from T3's output, as the plugin does.
- Turbo's `emotion_adv`: 0.0 upstream, the exaggeration parameter here; Turbo's T3 never reads it.

Test-speed measures, the same on both sides: T3 capped at `MAX_TOKENS`; T3's speech head scaled
(`sharpened`) so that the sampler settings change the tokens; S3Gen's flow schedule recorded and
compared, then run as one Euler step (`flow_spy`).

Tolerance: the same float operations on the CPU; S3Gen's batched flow runs padded shapes, so
waveforms may differ by float noise. Bound 1e-5 of a sample (measured: 0.0 at every step).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
import torch

import polyvox
from polyvox_chatterbox import conditioning, sampling, synthesis

from . import tiny
from .conftest import loaded

SEED = 13
#: Upstream's generate hard-codes 1000 speech tokens; the tiny random T3 rarely stops on its own.
MAX_TOKENS = 12
TOLERANCE = 1e-5
#: Scale of T3's speech head in these tests (`sharpened`), so that the sampler settings matter
#: (chosen by breaking the defaults: the English T3 samples nearly greedily at 8).
SHARPEN = {"english": 3.0, "multilingual": 8.0, "turbo": 8.0}
#: punc_norm has work to do in every text: a lower-case start, "...", ";", ":" and no final mark.
TEXTS = {
    "english": "well... this works; mostly: yes",
    "multilingual": "na ja... es geht; meistens: ja",
    "turbo": "well... turbo works; mostly: yes",
}


@attrs.frozen
class Run:
    """What one side did at each step."""

    conds: Any
    text_ids: list[int]
    speech_tokens: list[int]
    #: S3Gen's flow-matching time points (the step count and schedule) before the spy shortens them.
    flow_schedule: list[float]
    wave: np.ndarray
    audio: np.ndarray


@pytest.fixture(scope="module")
def references(tmp_path_factory: pytest.TempPathFactory) -> dict[str, polyvox.Voice]:
    """Short references (S3Gen's time grows with the reference), at rates the models do not use,
    with content no other test module prepares (the kernel caches conditionings). Turbo needs
    more than 5 s."""
    folder = tmp_path_factory.mktemp("upstream-voices")
    return {
        "english": polyvox.Voice(name="en-ref", audio=tiny.write_voice(folder / "en.wav", 150.0, 22050, 1.5)),
        "multilingual": polyvox.Voice(name="mtl-ref", audio=tiny.write_voice(folder / "mtl.flac", 205.0, 44100, 1.5)),
        "turbo": polyvox.Voice(name="turbo-ref", audio=tiny.write_voice(folder / "turbo.wav", 95.0, 16000, 5.5)),
    }


def upstream_tts(model: Any) -> Any:
    """Upstream's TTS class around the loaded parts, with the tokenizer `from_local` builds."""
    if model.turbo:
        from chatterbox.tts_turbo import ChatterboxTurboTTS
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(model.directory), local_files_only=True)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        return ChatterboxTurboTTS(model.t3, model.s3gen, model.ve, tokenizer, "cpu")
    if model.multilingual:
        from chatterbox.mtl_tts import ChatterboxMultilingualTTS

        return ChatterboxMultilingualTTS(model.t3, model.s3gen, model.ve, model.tokenizer, "cpu")
    from chatterbox.models.tokenizers import EnTokenizer
    from chatterbox.tts import ChatterboxTTS

    return ChatterboxTTS(model.t3, model.s3gen, model.ve, EnTokenizer(str(model.directory / "tokenizer.json")), "cpu")


@contextlib.contextmanager
def flow_spy(s3gen: Any, seen: dict[str, Any], m: pytest.MonkeyPatch) -> Iterator[None]:
    """Record the flow decoder's time points, then run one Euler step from the first to the last
    (the same shortening on both sides: the full-size S3Gen's steps dominate the test's time)."""
    decoder = s3gen.flow.decoder
    name = "basic_euler" if s3gen.meanflow else "solve_euler"
    solve = getattr(decoder, name)

    def spy(x: Any, t_span: Any, **kw: Any) -> Any:
        seen["schedule"] = t_span.flatten().tolist()
        return solve(x, t_span=t_span[..., [0, -1]], **kw)

    m.setattr(decoder, name, spy)
    yield


def run_upstream(tts: Any, text: str, reference: Path, monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> Run:
    """`generate` as a user calls it, with spies on T3 and S3Gen (and T3's budget capped)."""
    seen: dict[str, Any] = {}
    turbo = type(tts).__name__ == "ChatterboxTurboTTS"
    multilingual = type(tts).__name__ == "ChatterboxMultilingualTTS"
    t3_name = "inference_turbo" if turbo else "inference"
    t3_call, s3_call = getattr(tts.t3, t3_name), tts.s3gen.inference

    def t3_spy(**kw: Any) -> Any:
        seen["text"] = kw["text_tokens"][0].tolist()
        kw["max_gen_len" if turbo else "max_new_tokens"] = MAX_TOKENS
        out = t3_call(**kw)
        if multilingual:  # ids >= 6561 crash S3Gen; the plugin drops them as upstream's English does (README)
            seen["dropped"] = int((out >= synthesis.SPEECH_VOCAB).sum())
            out = out[out < synthesis.SPEECH_VOCAB].view(1, -1)
        return out

    def s3_spy(**kw: Any) -> Any:
        seen["tokens"] = kw["speech_tokens"].tolist()
        wav, sources = s3_call(**kw)
        seen["wave"] = wav.squeeze(0).detach().cpu().numpy().copy()
        return wav, sources

    with monkeypatch.context() as m, flow_spy(tts.s3gen, seen, m), torch.random.fork_rng():
        m.setattr(tts.t3, t3_name, t3_spy)
        m.setattr(tts.s3gen, "inference", s3_spy)
        torch.manual_seed(SEED)
        out = tts.generate(text, audio_prompt_path=str(reference), **kwargs)
    return Run(tts.conds, seen["text"], seen["tokens"], seen["schedule"], seen["wave"], out.squeeze(0).numpy())


def run_plugin(kernel: polyvox.Kernel, model: str, text: str, voice: polyvox.Voice,
               monkeypatch: pytest.MonkeyPatch, **params: Any) -> Run:
    """`Kernel.synthesize`, with spies on the conditioning, T3's input and S3Gen's input/output."""
    seen: dict[str, Any] = {}
    prepare, decode = conditioning.prepare, synthesis._decode_batch
    sampler = "turbo" if model == "turbo" else "guided"
    t3_call = getattr(sampling, sampler)

    def prepare_spy(*args: Any) -> Any:
        seen["conds"] = prepare(*args)
        return seen["conds"]

    def t3_spy(t3: Any, cond: Any, texts: list[Any], *rest: Any) -> Any:
        seen["text"] = texts[0].view(-1).tolist()
        return t3_call(t3, cond, texts, *rest)

    def decode_spy(model_: Any, tokens: list[Any], *rest: Any) -> Any:
        seen["tokens"] = tokens[0].tolist()
        wavs = decode(model_, tokens, *rest)
        seen["wave"] = wavs[0].squeeze(0).detach().cpu().numpy().copy()
        return wavs

    with monkeypatch.context() as m, flow_spy(loaded(kernel, model).s3gen, seen, m):
        m.setattr(conditioning, "prepare", prepare_spy)
        m.setattr(sampling, sampler, t3_spy)
        m.setattr(synthesis, "_decode_batch", decode_spy)
        audio = kernel.synthesize(text, engine="chatterbox", model=model, voice=voice, seed=SEED, use_cache=False,
                                  max_new_tokens=MAX_TOKENS, **params)
    assert "conds" in seen, "the kernel served a cached conditioning: the test needs a reference of its own"
    return Run(seen["conds"], seen["text"], seen["tokens"], seen["schedule"], seen["wave"], audio.samples)


# -- step-by-step comparison --------------------------------------------------------------------

def assert_same_weights(model: Any) -> None:
    """Step 'weights': every tensor in the model's files is the loaded one (as `from_local` loads)."""
    from polyvox_chatterbox.loader import _read

    layout = {"english": ("ve.safetensors", "t3_cfg.safetensors", "s3gen.safetensors"),
              "multilingual": ("ve.pt", "t3_mtl23ls_v2.safetensors", "s3gen.pt"),
              "turbo": ("ve.safetensors", "t3_turbo_v1.safetensors", "s3gen_meanflow.safetensors")}[model.name]
    for filename, part in zip(layout, (model.ve, model.t3, model.s3gen), strict=True):
        state = part.state_dict()
        for key, value in _read(model.directory / filename).items():
            if key not in state and model.turbo and key.startswith("tfmr.wte"):
                continue  # upstream deletes GPT-2's unused token embedding after loading
            assert torch.equal(state[key], value), f"step 'weights': {filename}:{key} differs from the loaded model"


def assert_same_conditioning(ours: Any, theirs: Any, *, emotion: bool = True) -> None:
    """Step 'conditioning': what the reference became (T3's and S3Gen's conditioning).
    `emotion`: whether T3 reads the exaggeration (Turbo's does not: `hp.emotion_adv` is off)."""
    for field in ("speaker_emb", "cond_prompt_speech_tokens", "emotion_adv")[: 3 if emotion else 2]:
        a, b = getattr(ours.t3, field), getattr(theirs.t3, field)
        if a is None or b is None:
            assert a is None and b is None, f"step 'conditioning': T3Cond.{field} is {a} here, {b} upstream"
            continue
        a, b = a.float().cpu(), b.float().cpu()
        assert a.shape == b.shape, f"step 'conditioning': T3Cond.{field} shape {tuple(a.shape)} vs {tuple(b.shape)}"
        diff = float((a - b).abs().max()) if a.numel() else 0.0
        assert diff <= TOLERANCE, f"step 'conditioning': T3Cond.{field} differs from upstream by {diff}"
    assert sorted(ours.gen) == sorted(theirs.gen), f"step 'conditioning': S3Gen keys {sorted(ours.gen)}"
    for key, a in ours.gen.items():
        b = theirs.gen[key]
        if not torch.is_tensor(a):
            assert a == b, f"step 'conditioning': S3Gen {key} is {a} here, {b} upstream"
            continue
        assert a.shape == b.shape, f"step 'conditioning': S3Gen {key} shape {tuple(a.shape)} vs {tuple(b.shape)}"
        diff = float((a.float() - b.float()).abs().max()) if a.numel() else 0.0
        assert diff <= TOLERANCE, f"step 'conditioning': S3Gen {key} differs from upstream by {diff}"


def assert_same_run(ours: Run, theirs: Run, *, emotion: bool = True) -> None:
    assert_same_conditioning(ours.conds, theirs.conds, emotion=emotion)
    assert ours.text_ids == theirs.text_ids, f"step 'text tokens': {ours.text_ids} here, {theirs.text_ids} upstream"
    assert ours.speech_tokens == theirs.speech_tokens, \
        f"step 'speech tokens': {ours.speech_tokens} here, {theirs.speech_tokens} upstream"
    assert ours.flow_schedule == pytest.approx(theirs.flow_schedule, abs=1e-7), \
        f"step 'flow schedule': {ours.flow_schedule} here, {theirs.flow_schedule} upstream"
    assert ours.wave.shape == theirs.wave.shape, f"step 'S3Gen waveform': {ours.wave.shape} vs {theirs.wave.shape}"
    diff = float(np.max(np.abs(ours.wave - theirs.wave)))
    assert diff <= TOLERANCE, f"step 'S3Gen waveform': differs from upstream by {diff}"
    expected = np.clip(theirs.audio.astype(np.float32), -1.0, 1.0)  # the plugin clips (README)
    assert ours.audio.shape == expected.shape, f"step 'output': {len(ours.audio)} samples, upstream {len(expected)}"
    diff = float(np.max(np.abs(ours.audio - expected)))
    assert diff <= TOLERANCE, f"step 'output' (watermarked): differs from upstream by {diff}"


@contextlib.contextmanager
def sharpened(model: Any) -> Iterator[None]:
    """T3's speech head scaled by `SHARPEN` for both sides. The tiny model's speech logits are
    nearly flat, and torch's CPU `multinomial` picks argmax(p / q) with q ~ Exp(1), which
    cutting or rescaling a flat tail hardly changes: top-p, min-p, the repetition penalty and
    even the temperature made no difference to the tokens. Scaled, they all do."""
    head = model.t3.speech_head.weight
    original = head.detach().clone()
    with torch.no_grad():
        head.mul_(SHARPEN[model.name])
    try:
        yield
    finally:
        with torch.no_grad():
            head.copy_(original)


# -- the three models -----------------------------------------------------------------------------

def test_english_generate_equals_the_plugin(kernel: polyvox.Kernel, references: dict[str, polyvox.Voice],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    model = loaded(kernel, "english")
    assert_same_weights(model)
    voice = references["english"]
    with sharpened(model):
        ours = run_plugin(kernel, "english", TEXTS["english"], voice, monkeypatch)
        theirs = run_upstream(upstream_tts(model), TEXTS["english"], voice.audio, monkeypatch)
    assert_same_run(ours, theirs)


def test_multilingual_generate_equals_the_plugin(kernel: polyvox.Kernel, references: dict[str, polyvox.Voice],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    model = loaded(kernel, "multilingual")
    assert_same_weights(model)
    voice = references["multilingual"]
    with sharpened(model):
        ours = run_plugin(kernel, "multilingual", TEXTS["multilingual"], voice, monkeypatch, language="de")
        theirs = run_upstream(upstream_tts(model), TEXTS["multilingual"], voice.audio, monkeypatch, language_id="de")
    assert_same_run(ours, theirs)


def test_long_reference_is_cut_as_upstream_cuts_it(kernel: polyvox.Kernel, tmp_path: Path) -> None:
    """References longer than upstream's cuts (6 s for T3's prompt, 10 s for S3Gen): the
    conditioning alone (the end-to-end tests use short references, S3Gen's time grows with them)."""
    from chatterbox.mtl_tts import ChatterboxMultilingualTTS
    from chatterbox.tts import ChatterboxTTS
    from chatterbox.tts_turbo import ChatterboxTurboTTS

    for cls in (ChatterboxTTS, ChatterboxMultilingualTTS):
        assert (cls.ENC_COND_LEN, cls.DEC_COND_LEN) == (conditioning.ENC_COND_SECONDS * 16000,
                                                        conditioning.DEC_COND_SECONDS * 24000), cls.__name__
    assert (ChatterboxTurboTTS.ENC_COND_LEN, ChatterboxTurboTTS.DEC_COND_LEN) == (
        conditioning.TURBO_ENC_COND_SECONDS * 16000, conditioning.DEC_COND_SECONDS * 24000)
    model = loaded(kernel, "english")
    voice = polyvox.Voice(name="long", audio=tiny.write_voice(tmp_path / "long.wav", 170.0, 32000, 10.5))
    tts = upstream_tts(model)
    with torch.inference_mode():
        tts.prepare_conditionals(str(voice.audio), exaggeration=0.7)
    assert_same_conditioning(conditioning.prepare(model, voice, 0.7), tts.conds)


def test_turbo_generate_equals_the_plugin(kernel: polyvox.Kernel, references: dict[str, polyvox.Voice],
                                          request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    kernel.unload_all()  # S3Gen is full size in every tiny checkpoint: free the others first (peak memory)
    request.getfixturevalue("turbo_dir")
    model = loaded(kernel, "turbo")
    assert_same_weights(model)
    voice = references["turbo"]
    with sharpened(model):
        ours = run_plugin(kernel, "turbo", TEXTS["turbo"], voice, monkeypatch)
        theirs = run_upstream(upstream_tts(model), TEXTS["turbo"], voice.audio, monkeypatch)
    # Turbo's generate sets the exaggeration to 0.0, the plugin to its parameter's value (0.5):
    # Turbo's T3 has no emotion input, so the value is never read (README)
    assert not model.t3.hp.emotion_adv
    assert_same_run(ours, theirs, emotion=False)
