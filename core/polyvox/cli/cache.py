"""`polyvox cache stats|clear|verify|path`: the content cache every engine and render shares."""

from __future__ import annotations

import click

from polyvox.cli.options import confirm, emit_json, escape, output_options, settings, state, stdout_console, table


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def _open_cache() -> tuple[object, str]:
    from polyvox import open_cache

    conf = settings()
    store = open_cache(conf.value("cache_dir"), conf.value("cache_size_limit"), conf.value("cache_url"))
    return store, conf["cache_url" if conf.value("cache_url") else "cache_dir"].source


def _repairs(store: object) -> None:
    """The cache's own repairs (a damaged database moved aside) told on stderr once the command
    has done its work (a cache it cannot use at all is the command's one error line, not a
    render's warning before it)."""
    for folder, why in getattr(store, "moved_aside", ()):
        click.secho(f"warning: the cache database could not be read ({why}): moved aside to {str(folder)!r} and a "
                    "fresh cache started", fg="yellow", err=True)


@click.group(short_help="Cache statistics, location, clearing.")
def cache() -> None:
    """Inspect or clear the content cache (shared by every engine, render and process)."""


@cache.command()
@output_options
def stats() -> None:
    """Entries, size on disk, size limit and the hit rate of the last render."""
    store, source = _open_cache()
    s = store.stats()
    _repairs(store)
    st = state()
    if st.json:
        emit_json({"directory": s.directory, "directory_source": source, "entries": s.entries,
                   "size_bytes": s.size_bytes, "limit_bytes": s.limit_bytes, "last_render": {
                       "hits": s.last_hits, "misses": s.last_misses, "hit_rate": s.last_hit_rate},
                   **({"total": {"hits": s.total_hits, "misses": s.total_misses}} if s.total_hits is not None
                      else {})})
        return
    if st.quiet:
        return
    listing = table("", "", title="Cache", show_header=False, box=None)
    listing.columns[0].style = "bold"
    listing.add_row("Directory", f"{escape(s.directory)} [dim]({source})[/]")
    listing.add_row("Entries", str(s.entries))
    # a Redis without maxmemory has no limit (0): its size stands alone
    listing.add_row("Size", f"{_size(s.size_bytes)} of {_size(s.limit_bytes)}" if s.limit_bytes
                    else f"{_size(s.size_bytes)} (no limit set)")
    total = s.last_hits + s.last_misses
    rate = "no render yet" if not total else f"{s.last_hit_rate:.0%} ({s.last_hits} of {total} segments)"
    listing.add_row("Last render hits", rate)
    if s.total_hits is not None:  # a shared cache counts every render of every server
        listing.add_row("All renders", f"{s.total_hits} hits, {s.total_misses} misses")
    stdout_console().print(listing)


@cache.command()
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@output_options
def clear(yes: bool) -> None:
    """Remove every cached segment (the next render synthesizes everything again)."""
    store, _ = _open_cache()
    st = state()
    if not confirm(f"every entry of the cache in {store.directory}", yes, "polyvox cache clear"):
        click.echo("nothing removed", err=True)
        return
    removed = store.clear()
    _repairs(store)
    if st.json:
        emit_json({"directory": str(store.directory), "removed": removed})
    elif not st.quiet:
        click.echo(f"removed {removed} {'entry' if removed == 1 else 'entries'} from {store.directory}")


@cache.command()
@click.option("--repair", is_flag=True, help="Drop the bad entries (they are synthesized again when needed).")
@output_options
def verify(repair: bool) -> None:
    """Read back every entry and check its checksum; list the bad ones (exit 1 if any are left)."""
    store, _ = _open_cache()
    report = store.verify(repair=repair)
    _repairs(store)
    st = state()
    if st.json:
        emit_json({"directory": str(store.directory), "checked": report.checked, "removed": report.removed,
                   "bad": [{"key": b.key, "reason": b.reason} for b in report.bad]})
    elif not st.quiet:
        for bad in report.bad:
            click.echo(f"bad entry {bad.key[:40]}: {bad.reason}")
        done = f"; dropped {report.removed}" if repair else ("; run with --repair to drop them" if report.bad
                                                              else "")
        click.echo(f"checked {report.checked} entries in {store.directory}: {len(report.bad)} bad{done}")
    if report.bad and not repair:
        raise SystemExit(1)


@cache.command()
def path() -> None:
    """Print the cache directory (for scripts: `du -sh "$(polyvox cache path)"`), or the shared
    cache's URL (its password left out) where one is set."""
    from polyvox import open_cache

    conf = settings()
    click.echo(open_cache(conf.value("cache_dir"), url=conf.value("cache_url")).directory)
