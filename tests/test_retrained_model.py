"""Which model a guide server starts on (bot.retrained_model): the one the staff desk retrained last when
it is newer than the model the server was given, so that a replica restarting after a retraining does
not fall back to the old model, and a model trained later (make train, a new image) still wins."""
from __future__ import annotations

import os

from bot.retrained_model import LINK_NAME, model_arguments, point_at


def _model(path, mtime):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"model")
    os.utime(path, (mtime, mtime))
    return path


def test_a_newer_retrained_model_replaces_the_given_one_and_a_newer_shipped_model_wins(tmp_path):
    shipped = _model(tmp_path / "models" / "madoguchi.tar.gz", 1_000)
    env = {"MADOGUCHI_RETRAIN_DIR": str(tmp_path / "retraining")}
    link = point_at(_model(tmp_path / "retraining" / "v3" / "madoguchi-v3.tar.gz", 2_000), env)
    assert link == tmp_path / "retraining" / LINK_NAME and link.is_symlink()
    env["MADOGUCHI_RETRAINED_MODEL"] = str(link)
    argv = ["run", "--port", "5005", "--model", str(shipped), "--enable-api"]

    args, chosen = model_arguments(argv, env)
    assert chosen == (tmp_path / "retraining" / "v3" / "madoguchi-v3.tar.gz").resolve()
    assert args == ["run", "--port", "5005", "--model", str(chosen), "--enable-api"]

    # the next retraining moves the link in one step
    point_at(_model(tmp_path / "retraining" / "v4" / "madoguchi-v4.tar.gz", 3_000), env)
    assert model_arguments(argv, env)[1].name == "madoguchi-v4.tar.gz"

    os.utime(shipped, (4_000, 4_000))  # `make train` after the files changed: the shipped model is newer
    assert model_arguments(argv, env) == (argv, None)


def test_without_a_retrained_model_or_outside_rasa_run_nothing_changes(tmp_path):
    shipped = _model(tmp_path / "madoguchi.tar.gz", 1_000)
    argv = ["run", "--model", str(shipped)]
    assert model_arguments(argv, {}) == (argv, None)  # not asked to look
    missing = {"MADOGUCHI_RETRAINED_MODEL": str(tmp_path / "retraining" / LINK_NAME)}
    assert model_arguments(argv, missing) == (argv, None)  # no retraining yet
    newer = {"MADOGUCHI_RETRAINED_MODEL": str(_model(tmp_path / "new.tar.gz", 2_000))}
    for other in (["run", "actions", "--model", str(shipped)], ["shell", "--model", str(shipped)],
                  ["run", "--model", str(tmp_path)]):  # the action server, another command, a folder
        assert model_arguments(other, newer) == (other, None)


def test_a_desk_compares_new_names_with_the_tables_of_the_model_servers_start_on(tmp_path, monkeypatch):
    """After a retraining, the next start (make run, a redeploy) must not find the same names unseen
    again and retrain at every start; once a newer shipped model exists, its tables count again."""
    from bot.nlp.lookups import DEFAULT_PATH
    from bot.staff import retraining

    monkeypatch.setenv("MADOGUCHI_RETRAIN_DIR", str(tmp_path / "retraining"))
    shipped = _model(tmp_path / "models" / "madoguchi.tar.gz", 1_000)
    tables = tmp_path / "retraining" / "v3" / "data" / "nlu" / "generated" / "kb_lookups.yml"
    tables.parent.mkdir(parents=True)
    tables.write_text('version: "3.1"\nnlu:\n- lookup: topic\n  examples: |\n    - ドローン配送\n', encoding="utf-8")
    point_at(_model(tmp_path / "retraining" / "v3" / "madoguchi-v3.tar.gz", 2_000),
             {"MADOGUCHI_RETRAIN_DIR": str(tmp_path / "retraining")})

    assert retraining.lookups_in_use(shipped) == tables
    assert "ドローン配送" in retraining.known_names(retraining.lookups_in_use(shipped))
    os.utime(shipped, (3_000, 3_000))  # make train after the retraining: the shipped model and its tables
    assert retraining.lookups_in_use(shipped) == DEFAULT_PATH
