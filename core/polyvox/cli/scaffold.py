"""`polyvox new-plugin`, `polyvox install`, `polyvox uninstall`: the plugin author's commands.

The work is in `polyvox.installing` (the public face of the installer, the engine environments
and the scaffold); these only render it.
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
    from polyvox import installing

    made = installing.new_plugin(name, directory, engine=engine_name, author=author)
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
@click.option("--isolated/--in-process", default=None,
              help="Give the plugin its own environment and worker process, or install it beside polyvox "
                   "[default: what the plugin declares].")
@click.option("--reuse-kernel-packages", is_flag=True,
              help="Isolated: let the environment see this environment's packages and install only the "
                   "plugin (plugin development, offline tests).")
@click.option("--offline", is_flag=True, help="Isolated: install only from uv's cache.")
def install(names: tuple[str, ...], editable: bool, upgrade: bool, no_build_isolation: bool,
            isolated: bool | None, reuse_kernel_packages: bool, offline: bool) -> None:
    """Install plugins into the environment polyvox runs in, or each into its own.

    NAME is short for the distribution polyvox-NAME; in a polyvox source checkout that has
    plugins/NAME, that folder is installed instead. PATH is a plugin folder. A plugin that
    declares a ``polyvox.isolated`` entry point (heavy or conflicting requirements) gets its
    own environment, made with uv, and runs in a worker process: see docs/engines-isolation.md.
    """
    from polyvox.installing import envs, resolve
    from polyvox.installing import install as run_install

    targets = [resolve(n) for n in names]
    apart = [t for t in targets if isolated or (isolated is None and t.is_path
                                                 and envs.declares_isolation(t.requirement))]
    for target in apart:
        click.echo(f"{target.given}: own environment under {envs.envs_dir()} (uv)")
        record = envs.create(envs.short_name(target.requirement), target.requirement,
                             inherit=reuse_kernel_packages, no_deps=reuse_kernel_packages, offline=offline)
        engines = ", ".join(s["name"] for s in record.specs) or "none"
        click.echo(f"Isolated engines: {engines}, in {record.describe()}")
    rest = [t.given for t in targets if t not in apart]
    for target in targets:
        if target not in apart:
            flag = "-e " if editable and not target.editable else ""
            click.echo(f"{target.given}: {target.note or 'pip install ' + flag + target.requirement}")
    if rest:
        _report(run_install(rest, editable=editable, upgrade=upgrade, no_build_isolation=no_build_isolation))


@click.command("uninstall")
@click.argument("names", nargs=-1, required=True, metavar="NAME...")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
def uninstall(names: tuple[str, ...], yes: bool) -> None:
    """Uninstall plugins (NAME is short for polyvox-NAME); an isolated plugin's environment is deleted."""
    from polyvox.installing import distribution_name, envs
    from polyvox.installing import uninstall as run_uninstall

    isolated = {r.name: r for r in envs.records()}
    apart = [n for n in names if envs.short_name(n) in isolated]
    rest = [n for n in names if n not in apart]
    dists = ", ".join([*(isolated[envs.short_name(n)].path for n in apart), *map(distribution_name, rest)])
    from polyvox.cli.options import confirm

    if not confirm(dists, yes, "polyvox uninstall"):
        click.echo("nothing removed", err=True)  # a "no" is an answer, not an interruption
        return
    for name in apart:
        record = envs.remove(envs.short_name(name))
        if record is not None:
            click.echo(f"Removed environment {record.path} (engines: "
                       f"{', '.join(s['name'] for s in record.specs) or 'none'})")
    if rest:
        _report(run_uninstall(rest))


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
