"""Run folders get numbers no other run folder has, even when runs start at the same moment."""

from __future__ import annotations

import threading

from trainer import run_folder
from trainer.run_folder import make_run_dir


def test_numbers_follow_the_highest_and_names_are_slugged(tmp_path):
    (tmp_path / "00007-old").mkdir()
    (tmp_path / "notes").mkdir()
    run = make_run_dir(tmp_path, "my run/1")
    assert run.name == "00008-my-run-1"
    assert (run / "samples").is_dir() and (run / "checkpoints").is_dir()
    assert make_run_dir(tmp_path, "my run/1").name == "00009-my-run-1"


def test_a_number_taken_after_our_look_is_not_shared(tmp_path, monkeypatch):
    """The race seen with two runs started together under different names: both looked at the
    folder, saw 00001 free, and both made 00001-<name>. Here the other run takes 00001 between
    our look and our claim (its folder appears after the scan)."""
    real_numbers = run_folder._numbers
    looks = []

    def stale_then_real(out):
        looks.append(out)
        if len(looks) == 1:
            seen = real_numbers(out)
            (out / "00001-other").mkdir()  # the other run, done in the meantime
            return seen
        return real_numbers(out)

    (tmp_path / "00000-first").mkdir()
    monkeypatch.setattr(run_folder, "_numbers", stale_then_real)
    run = make_run_dir(tmp_path, "mine")
    assert run.name == "00002-mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["00000-first", "00001-other", "00002-mine"]


def test_a_number_held_by_a_starting_run_is_skipped(tmp_path):
    (tmp_path / "00003").mkdir()  # another run between claiming 3 and renaming its folder
    assert make_run_dir(tmp_path, "mine").name == "00004-mine"


def test_runs_started_together_get_different_numbers(tmp_path):
    names, barrier = [f"run-{i}" for i in range(8)], threading.Barrier(8)
    made = []

    def start(name):
        barrier.wait()
        made.append(make_run_dir(tmp_path, name))

    threads = [threading.Thread(target=start, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    numbers = sorted(p.name[:5] for p in made)
    assert numbers == [f"{i:05d}" for i in range(8)]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in made)
