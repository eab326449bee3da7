"""Subtitles: reading and writing SRT, and fitting speech to cue times."""
