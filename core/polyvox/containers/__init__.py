"""Audiobook containers: AAC in MP4 (.m4b, .m4a) and Opus in Ogg encoded by FFmpeg through PyAV
as the audio comes (`encoding`); chapter marks, title, author and cover written into every
format that holds them by mutagen (`tagging`), and read back (`reading`); one file per chapter
(`split`)."""
