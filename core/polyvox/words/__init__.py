"""Word times: when each word of the script is spoken in a render's output.

`timing` holds `WordTime` and the mapping from an engine's words to the script's; `align`
aligns words heard by a listener (or any engine's own words) back to the script's words;
`energy` estimates times from the audio where nothing better is known; `captions` writes
WebVTT, SRT and JSON captions from them. See docs/words.md.
"""

from polyvox.words.align import align
from polyvox.words.captions import FORMATS as CAPTION_FORMATS
from polyvox.words.captions import CaptionOptions, caption_format
from polyvox.words.captions import write as write_captions
from polyvox.words.timing import SOURCES, WORD_TIMES, WordTime, check_word_times

__all__ = ["align", "CAPTION_FORMATS", "CaptionOptions", "caption_format", "check_word_times", "SOURCES", "WORD_TIMES",
           "WordTime", "write_captions"]
