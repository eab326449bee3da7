"""Mastering: every take brought to one loudness under a true-peak ceiling (`loudness`), and
ACX's checks of a finished audiobook (`acx`)."""
