"""What a Ray replica carries to make an isolated engine's environment on its node, and the
build there (polyvox.distributed.node_envs), without Ray: the recipe a record keeps, the
plugin folder packed and unpacked, and `ensure` making the environment once."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import attrs
import pytest
from isolation_kit import uv_env

from polyvox.distributed import node_envs
from polyvox.distributed.node_envs import Recipe
from polyvox.isolation import envs


def test_a_plugin_folder_travels_without_its_tests_caches_or_build_output(tmp_path):
    folder = tmp_path / "plugin"
    for name in ("pyproject.toml", "requirements.lock", "pkg/__init__.py", "tests/test_x.py",
                 "pkg/__pycache__/x.pyc", "build/lib/pkg.py", "pkg.egg-info/PKG-INFO", ".git/HEAD"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(name)
    archive = node_envs.pack(folder)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        files = sorted(Path(m.name).as_posix() for m in tar.getmembers() if m.isfile())
    assert files == ["pkg/__init__.py", "pyproject.toml", "requirements.lock"]
    first = node_envs.unpack(archive, tmp_path / "node")
    assert (first / "requirements.lock").read_text() == "requirements.lock"
    assert node_envs.unpack(archive, tmp_path / "node") == first  # named by its content: unpacked once


def test_a_record_keeps_how_it_was_made_and_a_node_makes_it_once_under_the_same_key(isotone_env, tmp_path,
                                                                                    monkeypatch):
    recipe = Recipe.of(isotone_env)
    assert recipe is not None and recipe.requirement is None and recipe.archive
    assert (recipe.name, recipe.inherit, recipe.no_deps, recipe.offline) == ("isotone", True, True, True)
    base = Path(isotone_env.path).parent.parent
    for key, value in uv_env(base).items():  # offline, from the fixture's uv cache
        monkeypatch.setenv(key, value)
    node = tmp_path / "node-envs"
    assert node_envs.ensure(recipe, node) is True
    [made] = envs.records(node)
    assert made.key == isotone_env.key and Path(made.path).parent == node
    assert node_envs.ensure(recipe, node) is False  # there: nothing built
    assert [p.name for p in node.glob("isotone-*")] == [Path(made.path).name]


@pytest.mark.parametrize("source", [None, {"requirement": None, "folder": None}])
def test_a_record_without_a_recipe_must_be_on_the_node_already(isotone_env, source):
    assert Recipe.of(attrs.evolve(isotone_env, source=source)) is None


def test_a_node_that_has_the_drivers_environment_uses_it_even_when_the_folder_changed(isotone_env, tmp_path):
    """One machine, or a shared volume: the node's envs folder holds the driver's record, so
    nothing is built, though the plugin folder was edited after the install."""
    node = tmp_path / "node-envs"
    node.mkdir()
    (node / "isotone.json").write_text((Path(isotone_env.path).parent / "isotone.json").read_text())
    edited = node_envs.unpack(Recipe.of(isotone_env).archive, tmp_path / "copy")
    (edited / "pyproject.toml").write_text((edited / "pyproject.toml").read_text() + "\n# edited\n")
    recipe = attrs.evolve(Recipe.of(isotone_env), archive=node_envs.pack(edited))
    assert node_envs.ensure(recipe, node) is False
    assert [r.path for r in envs.records(node)] == [isotone_env.path]  # the driver's, untouched
