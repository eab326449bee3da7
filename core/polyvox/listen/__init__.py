"""Hearing: listener plugins turn audio into timed words (`heard`, `listener`), a verdict
compares a take with its text (`verdict`, `audiochecks`), and a render can hear every take,
retake the failures and remember the verdicts in the cache (`verify`, `takes`). `check`
hears a finished render against its script or subtitles."""
