"""Hostile files given to the loader (``kb build``, ``kb load FILE``, ``kb validate FILE``): a YAML alias bomb,
deep nesting, a named pipe, ``/dev/zero``, a folder named like a file, a missing file, numbers too large
for the database. Each is refused within seconds with a located Japanese problem, the command exits 1
without a traceback, and the database stays as it was. Database tests run on SQLite and PostgreSQL."""
from __future__ import annotations

import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from test_kb_loader import JAPANESE, db_contents

from bot import cli
from bot.kb import files
from bot.kb.event_csv import EVENT_COLUMNS, read_events
from bot.kb.faq import read_faq
from bot.kb.files import LoadError, read_csv, read_text, read_yaml
from bot.kb.loader import kind_of, load, load_files

REPO = Path(__file__).resolve().parents[1]
CLI_TIMEOUT = 30  # seconds; each refusal takes well under one (the rest is Python starting)
CLI_MEMORY = 2 * 1024**3  # address space of the CLI under test: a bomb must not get near it


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    """An assembly report whose イベント名 expands to width**levels strings (9**9: 387 million)."""
    lines = ["a0: &a0 [" + ", ".join(['"lol"'] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    lines += ["回: 8", f"イベント名: *a{levels - 1}", "開始日: 2019-02-06", "場所名称: 会場", "出典: test", "発表: []"]
    return "\n".join(lines) + "\n"


def nested(depth: int) -> str:
    return "回: " + "[" * (depth - 1) + "1" + "]" * (depth - 1) + "\n"  # the top mapping is the first level


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _zero(path: Path) -> Path:
    path.symlink_to("/dev/zero")
    return path


def _folder(path: Path) -> Path:
    path.mkdir()
    return path


def _text(text: str):
    def make(path: Path) -> Path:
        path.write_text(text, encoding="utf-8")
        return path
    return make


FAQ_HEADER = "全国地方公共団体コード,分類,質問,回答"


def _many_lines(path: Path) -> Path:
    """20 MB of one-character lines: ten million rows (each a problem), within the size limit."""
    path.write_bytes(f"{FAQ_HEADER}\n".encode() + b"x\n" * (10 * 1024 * 1024 - 100))
    return path


def _wide_header(path: Path) -> Path:
    """A header of five million columns (the duplicate check was quadratic in them)."""
    path.write_bytes(f"{FAQ_HEADER},".encode() + b"a," * (5 * 1024 * 1024) + b"\n")
    return path


HOSTILE = {  # name: (file name, how to make it, fragment of the reason)
    "csv-ten-million-lines": ("lines.csv", _many_lines, "行が多すぎます"),
    "csv-five-million-columns": ("wide.csv", _wide_header, "列が多すぎます"),
    "fifo": ("fifo.csv", _fifo, "名前付きパイプ"),
    "dev-zero": ("zero.csv", _zero, "デバイス"),
    "folder": ("folder.csv", _folder, "フォルダ"),
    "missing": ("missing.csv", lambda path: path, "ありません"),
    "yaml-bomb": ("bomb.yml", _text(billion_laughs()), "多すぎ"),
    "yaml-deep": ("deep.yml", _text(nested(10_000)), "YAML"),
}


def run_cli(*args: str, timeout: float = CLI_TIMEOUT) -> subprocess.CompletedProcess:
    """The madoguchi command in a child process, with a time and a memory limit (a hang or a bomb fails the test)."""
    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (CLI_MEMORY, CLI_MEMORY))

    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, preexec_fn=limit_memory)


def assert_refused(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "読み込みを中止しました（データベースは変更していません）" in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


def within(seconds: float, fn, release=None):
    """fn() in a thread; if it is still running after ``seconds``, ``release()`` unblocks it and the test fails."""
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test below
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        if release is not None:
            release()
        thread.join(5)
        pytest.fail(f"still reading after {seconds} s (it would block for ever)")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


# -- through the command line ------------------------------------------------------------------------

@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_kb_load_and_validate_refuse_a_hostile_file(loaded_db_url, tmp_path, case):
    name, make, reason = HOSTILE[case]
    path = make(tmp_path / name)
    before = db_contents(loaded_db_url)
    for command in ("validate", "load"):
        started = time.monotonic()
        result = run_cli("--db", loaded_db_url, "kb", command, str(path))
        assert_refused(result, str(path), reason)
        assert time.monotonic() - started < 15
    assert db_contents(loaded_db_url) == before


def test_kb_build_refuses_hostile_files_in_the_data_folder_and_keeps_the_database(loaded_db_url, kb_copy):
    assemblies, faq = kb_copy / "assemblies", kb_copy / "faq"
    (assemblies / "008.yml").write_text(billion_laughs(), encoding="utf-8")
    (assemblies / "009.yml").write_text(nested(files.MAX_YAML_DEPTH + 1), encoding="utf-8")
    _fifo(assemblies / "010.yml")
    _folder(assemblies / "011.yml")
    _zero(faq / "zero.csv")
    _fifo(faq / "fifo.csv")
    _folder(faq / "folder.csv")
    before = db_contents(loaded_db_url)
    result = run_cli("--db", loaded_db_url, "kb", "build", "--data", str(kb_copy))
    assert_refused(result, "問題 7 件")
    for name, reason in [("008.yml", "YAML の要素が多すぎます"), ("009.yml", "YAML の入れ子が深すぎます"),
                         ("010.yml", "名前付きパイプ"),
                         ("011.yml", "フォルダ"), ("zero.csv", "デバイス"), ("fifo.csv", "名前付きパイプ"),
                         ("folder.csv", "フォルダ")]:
        line = next((line for line in result.stderr.splitlines() if name in line), "")
        assert reason in line, (name, result.stderr)
    assert db_contents(loaded_db_url) == before


def test_kb_export_to_a_path_that_cannot_be_written_is_a_message(shipped_db_url, tmp_path, capsys):
    out = tmp_path / "no-such-folder" / "faq.csv"
    assert cli.main(["--db", shipped_db_url, "kb", "export", "--format", "faq-csv", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert str(out) in err and "書き出せません" in err
    assert not out.exists()


# -- the reader, directly ------------------------------------------------------------------------------

def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path):
    path = _text(billion_laughs())(tmp_path / "008.yml")
    started = time.monotonic()
    with pytest.raises(LoadError) as excinfo:
        read_yaml(path)
    assert time.monotonic() - started < 2
    (problem,) = excinfo.value.problems
    assert (problem.file, problem.column) == (str(path), None) and problem.row is not None
    assert "YAML の要素が多すぎます" in problem.reason and f"{files.MAX_YAML_NODES:,}" in problem.reason


def test_yaml_aliases_are_limited_in_number_and_may_not_refer_to_themselves(tmp_path):
    allowed = "a: &x 1\nb: [" + ", ".join(["*x"] * files.MAX_YAML_ALIASES) + "]\n"
    assert len(read_yaml(_text(allowed)(tmp_path / "ok.yml"))["b"]) == files.MAX_YAML_ALIASES
    too_many = allowed.replace("]\n", ", *x]\n")
    with pytest.raises(LoadError) as excinfo:
        read_yaml(_text(too_many)(tmp_path / "many.yml"))
    assert "別名" in str(excinfo.value) and f"上限 {files.MAX_YAML_ALIASES} 個" in str(excinfo.value)
    with pytest.raises(LoadError) as excinfo:
        read_yaml(_text("a: &x [1, *x]\n")(tmp_path / "self.yml"))
    assert "「*x」がそれ自身の中で使われています" in str(excinfo.value)


@pytest.mark.parametrize("depth", [files.MAX_YAML_DEPTH + 1, 10_000, 200_000])
def test_deep_yaml_nesting_is_refused(tmp_path, depth):
    assert read_yaml(_text(nested(files.MAX_YAML_DEPTH))(tmp_path / "ok.yml"))["回"]  # the limit itself is fine
    path = _text(nested(depth))(tmp_path / "deep.yml")
    with pytest.raises(LoadError) as excinfo:
        read_yaml(path)
    (problem,) = excinfo.value.problems
    assert problem.file == str(path) and problem.row == 1 and "YAML" in problem.reason and JAPANESE.search(
        problem.reason)


@pytest.mark.parametrize("text, fragment", [
    pytest.param("開始日: 2018-02-30\n", "2018-02-30", id="no-such-date"),  # PyYAML raises ValueError
    pytest.param("回: " + "9" * 5000 + "\n", "を読めません", id="5000-digits"),  # more digits than Python converts
    pytest.param("回: !!int\n", "を読めません", id="int-tag-without-value"),  # IndexError
    pytest.param("開始日: !!timestamp x\n", "を読めません", id="timestamp-tag-on-text"),  # AttributeError
])
def test_yaml_values_python_cannot_build_are_located_problems(tmp_path, text, fragment):
    path = _text(text)(tmp_path / "008.yml")
    with pytest.raises(LoadError) as excinfo:
        read_yaml(path)
    (problem,) = excinfo.value.problems
    assert (problem.file, problem.row) == (str(path), 1) and fragment in problem.reason


def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path):
    path = _fifo(tmp_path / "fifo.csv")

    def release() -> None:  # a writer that opens and closes: the blocked reader sees the end of the file
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))

    for read in (read_text, read_yaml, lambda p: read_csv(p, ["質問"]), lambda p: read_faq(p, set()), read_events,
                 kind_of):
        with pytest.raises(LoadError) as excinfo:
            within(5, lambda read=read: read(path), release)
        (problem,) = excinfo.value.problems
        assert (problem.file, problem.row, problem.column) == (str(path), None, None)
        assert "通常のファイルではありません（名前付きパイプ）" in problem.reason


@pytest.mark.parametrize("make, reason",
                         [(_folder, "ファイルではなくフォルダです"), (lambda path: path, "ファイルがありません")])
def test_a_folder_or_a_missing_file_is_a_problem_not_a_traceback(tmp_path, make, reason):
    path = make(tmp_path / "x.csv")
    for read in (read_text, read_yaml, lambda p: read_csv(p, ["質問"]), lambda p: read_faq(p, set()), read_events,
                 kind_of):
        with pytest.raises(LoadError) as excinfo:
            read(path)
        (problem,) = excinfo.value.problems
        assert (problem.file, problem.reason) == (str(path), reason)


def test_at_most_the_limit_is_read_even_when_the_size_is_not_told(monkeypatch):
    """Files in /proc say they are empty: the limit holds while reading, not only by the size fstat gives."""
    status = Path("/proc/self/status")
    assert status.stat().st_size == 0 and len(status.read_bytes()) > 100
    monkeypatch.setattr(files, "MAX_FILE_BYTES", 100)
    with pytest.raises(LoadError) as excinfo:
        read_text(status)
    assert "大きすぎ" in str(excinfo.value) and "上限 100 バイト" in str(excinfo.value)


def test_one_file_lists_at_most_max_problems_and_counts_the_rest(tmp_path):
    path = tmp_path / "faq.csv"
    path.write_text(FAQ_HEADER + "\n" + "x\n" * 300, encoding="utf-8")
    for read in (lambda p: read_csv(p, ["質問"], ("全国地方公共団体コード", "分類", "回答")),
                 lambda p: read_faq(p, set())):
        with pytest.raises(LoadError) as excinfo:
            read(path)
        problems = excinfo.value.problems
        assert len(problems) == files.MAX_PROBLEMS + 1
        assert [p.row for p in problems[:3]] == [2, 3, 4] and "列の数" in problems[0].reason
        assert (problems[-1].row, problems[-1].reason) == (None,
                                                           f"ほかにも {300 - files.MAX_PROBLEMS} "
                                                           f"件の問題があります（最初の {files.MAX_PROBLEMS} "
                                                           "件だけ示しました）")


def test_a_number_too_large_for_the_database_is_a_problem(loaded_db_url, kb_copy, tmp_path):
    before = db_contents(loaded_db_url)
    report = kb_copy / "assemblies" / "007.yml"
    text = report.read_text(encoding="utf-8")
    report.write_text(text.replace("回: 7\n", "回: 100000000000000000000\n", 1), encoding="utf-8")
    with pytest.raises(LoadError) as excinfo:
        load(kb_copy, url=loaded_db_url)
    assert any(p.column == "回" and "以下の整数" in p.reason for p in excinfo.value.problems), str(excinfo.value)
    events = tmp_path / "events.csv"
    row = {"NO": "100000000000000000000", "イベント名": "第8回総会", "開始日": "2019-02-06", "場所名称": "会場"}
    events.write_text(",".join(EVENT_COLUMNS) + "\n" + ",".join(row.get(c, "") for c in EVENT_COLUMNS) + "\n",
                      encoding="utf-8")
    with pytest.raises(LoadError) as excinfo:
        load_files([events], loaded_db_url)
    assert [(p.row, p.column) for p in excinfo.value.problems] == [(2, "NO")]
    assert db_contents(loaded_db_url) == before
