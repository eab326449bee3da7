"""`polyvox new-plugin`, `polyvox install`, `polyvox uninstall`: the plugin author's commands.

The work is in polyvox.scaffold and polyvox.installer; these only render it.
"""

from __future__ import annotations

from typing import Any

import click


@click.command("new-plugin")
@click.argument("name")
@click.option("--dir", "directory", metavar="PATH", help="Folder to create (default: ./polyvox-NAME).")
@click.option("--engine-name", help="The engine's name (default: NAME).")
@click.option("--author", help="Author written into pyproject.toml.")
def new_plugin(name: str, directory: str | None, engine_name: str | None, author: str | None) -> None:
    """Create a new engine plugin called NAME from the template.

    The result installs with `pip install -e` as it is, shows up in `polyvox engines` and passes
    its own tests; replace the parts marked "A real engine" with your model.
    """
    from polyvox.plugin.scaffold import new_plugin as scaffold

    made = scaffold(name, directory, engine=engine_name, author=author)
    n = made.names
    click.echo(f"Created {made.directory} ({len(made.files)} files): distribution {n.distribution}, "
               f"package {n.package}, engine {n.engine!r}.")
    click.echo("Next:")
    click.echo(f"  polyvox install {made.directory} -e     # or: pip install -e {made.directory}")
    click.echo(f"  polyvox say 'Hello there' --engine {n.engine}")
    click.echo(f"  pytest {made.directory / 'tests'}")
    click.echo(f"Then edit {made.directory / n.package / '__init__.py'}; see docs/writing-plugins.md.")


@click.command("install")
@click.argument("names", nargs=-1, required=True, metavar="NAME|PATH...")
@click.option("-e", "--editable", is_flag=True, help="Install a plugin folder in editable mode.")
@click.option("-U", "--upgrade", is_flag=True, help="Upgrade the plugin if it is installed.")
@click.option("--no-build-isolation", is_flag=True, help="Build with the setuptools already installed.")
def install(names: tuple[str, ...], editable: bool, upgrade: bool, no_build_isolation: bool) -> None:
    """Install plugins into the environment polyvox runs in.

    NAME is short for the distribution polyvox-NAME; in a polyvox source checkout that has
    plugins/NAME, that folder is installed instead. PATH is a plugin folder.
    """
    from polyvox.plugin.installer import install as run_install
    from polyvox.plugin.installer import resolve

    for target in map(resolve, names):
        flag = "-e " if editable and not target.editable else ""
        click.echo(f"{target.given}: {target.note or 'pip install ' + flag + target.requirement}")
    _report(run_install(list(names), editable=editable, upgrade=upgrade, no_build_isolation=no_build_isolation))


@click.command("uninstall")
@click.argument("names", nargs=-1, required=True, metavar="NAME...")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
def uninstall(names: tuple[str, ...], yes: bool) -> None:
    """Uninstall plugins (NAME is short for polyvox-NAME)."""
    from polyvox.plugin.installer import distribution_name
    from polyvox.plugin.installer import uninstall as run_uninstall

    dists = ", ".join(distribution_name(n) for n in names)
    if not yes:
        if not click.confirm(f"Uninstall {dists}?", err=True):
            click.echo("nothing removed", err=True)  # a "no" is an answer, not an interruption
            return
    _report(run_uninstall(list(names)))


def _report(outcome: Any) -> None:
    for engine, plugin in sorted(outcome.added.items()):
        click.echo(f"New engine: {engine} (plugin {plugin})")
    for engine, plugin in sorted(outcome.removed.items()):
        click.echo(f"Removed engine: {engine} (plugin {plugin})")
    if not outcome.added and not outcome.removed:
        click.echo("No engine was added or removed.")
    click.echo(f"Engines now: {', '.join(sorted(outcome.engines)) or 'none'}")
    for name, error in outcome.failures:
        click.secho(f"Warning: plugin {name} fails to load: {error}", fg="yellow", err=True)
    if outcome.conflicts:
        packages = ", ".join(sorted({c.package for c in outcome.conflicts}))
        click.secho(f"Warning: dependency conflicts in this environment ({packages}):", fg="yellow", err=True)
        for conflict in outcome.conflicts:
            click.secho(f"  {conflict.message}", fg="yellow", err=True)


commands = [new_plugin, install, uninstall]
