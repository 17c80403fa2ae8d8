"""Spark's RDD checkpoint folders (``<checkpoint_dir>/<uuid>``, one per session set-up) are deleted when a
``tailor`` command ends, with the scratch data in them, whether the command succeeded or failed."""

import re

from conftest import ROOT, make_cfg
from tailor import spark as tspark
from tailor.cli import main

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _folders(root):
    return sorted(p.name for p in root.iterdir() if UUID.match(p.name)) if root.exists() else []


def test_the_folders_made_after_the_mark_are_deleted_with_their_files_and_older_ones_kept(spark, tmp_path):
    older = tspark.get_spark(make_cfg(tmp_path / "a"))  # the same session, a folder under a/_checkpoints
    mark = tspark.checkpoint_mark()
    tspark.get_spark(make_cfg(tmp_path / "b"))
    frame = older.range(5).checkpoint()  # eager: files under b's folder, the context's current one
    assert frame.count() == 5
    made = _folders(tmp_path / "b" / "_checkpoints")
    assert len(made) == 1 and any(p.is_file() for p in (tmp_path / "b" / "_checkpoints").rglob("part-*"))
    assert len(_folders(tmp_path / "a" / "_checkpoints")) == 1

    assert tspark.drop_checkpoint_dirs(older, mark) == 1
    assert _folders(tmp_path / "b" / "_checkpoints") == []
    assert len(_folders(tmp_path / "a" / "_checkpoints")) == 1  # made before the mark: someone else's
    assert tspark.drop_checkpoint_dirs(older, mark) == 0  # each folder is deleted once


def test_a_command_leaves_no_checkpoint_folder_when_it_fails_or_succeeds(spark, tmp_path, capsys):
    wh = tmp_path / "wh"
    common = ["--conf", str(ROOT / "conf" / "local.yaml"), "--set", f"warehouse={wh}",
              "--set", "spark.shuffle_partitions=2", "--run-date", "2026-11-23"]
    assert main(["features", *common]) == 1  # an empty warehouse: no events to read
    assert "MissingTableError" in capsys.readouterr().err
    assert (wh / "_checkpoints").exists() and _folders(wh / "_checkpoints") == []
    assert main(["tables", *common]) == 0
    assert _folders(wh / "_checkpoints") == []
