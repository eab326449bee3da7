"""Books (docs/books.md): a 700 KB Markdown book (20 chapters) rendered at -18 LUFS to .m4b
and to WAV by the template engine, each in its own process from a warm cache (the sentences
were synthesized once before), so the two differ only in the encoding.

- peak memory: the process's own high-water mark (VmHWM), .m4b minus WAV;
- wall time: one render each, .m4b over WAV (no synthesis to hide the encoder behind: the
  worst case for the ratio); about 15 minutes in all on a quiet 2-core machine;
- loudness spread: the integrated loudness of each chapter of the WAV (the samples the encoder
  was given), highest minus lowest.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

#: Distinct sentences (synthesized once); the book repeats them in a different order per chapter.
POOL = 400
CHAPTERS = 20
BOOK_BYTES = 700_000
TARGET = -18.0

RENDER = textwrap.dedent("""
    import sys, time, polyvox
    book, out, cache = sys.argv[1:4]
    kernel = polyvox.Kernel(cache_dir=cache, plugins=["template"])
    start = time.perf_counter()
    result = kernel.render(polyvox.read_book(book), engine="template", output=out, loudness=-18)
    wall = time.perf_counter() - start
    hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]
    starts = ",".join(f"{c.start:.3f}:{c.end:.3f}" for c in result.chapters)
    print(result.stats.audio_seconds, wall, int(hwm) * 1024, result.stats.synthesized, starts)
""")


def make_book(path: Path) -> Path:
    words = "harbour lantern rope gull tide anchor window letter morning winter kettle meadow".split()
    pool = [f"The {words[i % 12]} by the {words[(i * 7 + 3) % 12]} was number {i} of many, and it stayed."
            for i in range(POOL)]
    per_chapter = BOOK_BYTES // CHAPTERS
    parts = []
    for c in range(CHAPTERS):
        lines, size, i = [f"# Chapter {c + 1}", ""], 0, c
        while size < per_chapter:
            line = pool[(i * 31 + c) % POOL]
            lines.append(line if i % 9 else f"[Alice] {line}")  # Alice: another voice of the engine
            size += len(lines[-1]) + 1
            i += 1
        parts.append("\n".join(lines))
    path.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    return path


def _run(book: Path, out: Path, cache: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", RENDER, str(book), str(out), str(cache)], capture_output=True,
                          text=True, check=True)
    audio_s, wall, peak, synthesized, marks = proc.stdout.split()
    chapters = [tuple(float(x) for x in m.split(":")) for m in marks.split(",")]
    return {"audio_s": float(audio_s), "wall_s": float(wall), "peak_mb": int(peak) / 2**20,
            "synthesized": int(synthesized), "chapters": chapters}


#: A short book spoken by Piper in a fresh cache: the encoder has synthesis to hide behind.
SPOKEN = textwrap.dedent("""
    import sys, time, polyvox
    book, out, cache = sys.argv[1:4]
    kernel = polyvox.Kernel(cache_dir=cache)
    start = time.perf_counter()
    result = kernel.render(polyvox.read_book(book), output=out, loudness=-18,
                           params={"noise_scale": 0.0, "noise_w_scale": 0.0})
    print(result.stats.audio_seconds, time.perf_counter() - start)
""")


def spoken(tmp: Path, rounds: int = 3) -> dict:
    """A 2-chapter book (48 sentences) synthesized by Piper into a fresh cache each time, to
    .m4b and to WAV in alternating order, each in its own process: the .m4b's encoder runs
    beside the synthesis, as in a first render of any book."""
    lines = [f"The {w} by the harbour was the {n + 1}th of its kind, and nobody had counted it before."
             for n, w in enumerate("lantern rope gull tide anchor window letter morning".split() * 6)]
    book = tmp / "spoken.md"
    book.write_text("# One\n\n" + "\n\n".join(lines[:24]) + "\n\n# Two\n\n" + "\n\n".join(lines[24:]) + "\n",
                    encoding="utf-8")
    ratios, seconds = [], 0.0
    for n in range(rounds):
        timed = {}
        for kind in ((".m4b", ".wav") if n % 2 == 0 else (".wav", ".m4b")):
            proc = subprocess.run([sys.executable, "-c", SPOKEN, str(book), str(tmp / f"spoken{kind}"),
                                   str(tmp / f"spoken-cache-{n}{kind}")], capture_output=True, text=True, check=True)
            seconds, timed[kind] = (float(x) for x in proc.stdout.split())
        ratios.append(timed[".m4b"] / timed[".wav"])
    ratios.sort()
    return {"ratio": ratios[len(ratios) // 2], "low": ratios[0], "high": ratios[-1], "rounds": rounds,
            "audio_s": seconds}


def _spread(wav: Path, chapters: list[tuple[float, float]]) -> tuple[float, float]:
    import soundfile as sf

    import polyvox

    levels = []
    with sf.SoundFile(wav) as f:
        for start, end in chapters:
            f.seek(round(start * f.samplerate))
            samples = f.read(round((end - start) * f.samplerate), dtype="float32")
            levels.append(polyvox.integrated_loudness(samples, f.samplerate))
    return min(levels), max(levels)


def measure(tmp: Path) -> dict:
    book = make_book(tmp / "book.md")
    cache = tmp / "books-cache"
    _run(book, tmp / "warm.wav", cache)  # every sentence synthesized once
    (tmp / "warm.wav").unlink()
    m4b = _run(book, tmp / "book.m4b", cache)
    wav = _run(book, tmp / "book.wav", cache)
    low, high = _spread(tmp / "book.wav", wav["chapters"])
    return {"spoken": spoken(tmp),
            "book_kb": book.stat().st_size / 1000, "hours": wav["audio_s"] / 3600, "wav": wav, "m4b": m4b,
            "memory_mb": m4b["peak_mb"] - wav["peak_mb"], "wall_ratio": m4b["wall_s"] / wav["wall_s"],
            "loudness": (low, high), "spread_lu": high - low, "m4b_mb": (tmp / "book.m4b").stat().st_size / 2**20}


def rows(r: dict) -> list[tuple[str, str, str, str]]:
    wav, m4b = r["wav"], r["m4b"]
    return [
        (f"peak memory, a {r['book_kb']:.0f} KB book ({r['hours']:.1f} h, {CHAPTERS} chapters) to .m4b vs WAV "
         "(template engine, warm cache, -18 LUFS)",
         f"{r['memory_mb']:+.0f} MB ({m4b['peak_mb']:.0f} MB vs {wav['peak_mb']:.0f} MB; the .m4b is "
         f"{r['m4b_mb']:.0f} MB)", "≤ +50 MB", "yes" if r["memory_mb"] <= 50 else "no"),
        ("wall time, the same book to .m4b vs WAV (all from the cache: the encoder is all the difference)",
         f"{r['wall_ratio']:.2f}× ({m4b['wall_s']:.0f} s vs {wav['wall_s']:.0f} s)", "≤ 1.1×",
         "yes" if r["wall_ratio"] <= 1.1 else "no"),
        (f"wall time, a short book synthesized by Piper ({r['spoken']['audio_s'] / 60:.1f} min, 2 chapters, fresh "
         "cache) to .m4b vs WAV: the encoder beside the synthesis",
         f"{r['spoken']['ratio']:.2f}× (median of {r['spoken']['rounds']} rounds, {r['spoken']['low']:.2f}–"
         f"{r['spoken']['high']:.2f}×)", "≤ 1.1×", "yes" if r["spoken"]["ratio"] <= 1.1 else "no"),
        ("loudness spread between the chapters (each measured whole, BS.1770)",
         f"{r['spread_lu']:.2f} LU ({r['loudness'][0]:.2f} … {r['loudness'][1]:.2f} LUFS)", "≤ 1 LU",
         "yes" if r["spread_lu"] <= 1 else "no"),
    ]
