"""nasperf summary: markdown tables of mean ± std from results.csv files."""

import pandas as pd
import pytest

from nasperf.eval.cli import main
from nasperf.eval.summary import count_table, read_results, summary_table


def _rows() -> pd.DataFrame:
    rows = []
    for feat, base in (("zc", 0.5), ("graf+zc", 0.7)):
        for n in (32, 128):
            for seed, d in enumerate((-0.1, 0.0, 0.1)):
                rows.append(dict(space="nb201", dataset="toy", features=feat, predictor="rf",
                                 train_size=n, seed=seed, kendall_tau=base + d + n / 1000))
    return pd.DataFrame(rows)


def test_summary_table_mean_std_per_train_size():
    t = summary_table(_rows())
    assert list(t.columns) == ["features", "predictor", "n=32", "n=128", "seeds"]
    row = t.set_index("features").loc["zc"]
    # mean of 0.4, 0.5, 0.6 plus 0.032; sample std 0.1
    assert row["n=32"] == "0.532 ± 0.100" and row["n=128"] == "0.628 ± 0.100"
    assert row["seeds"] == "3"


def test_summary_table_leaves_sizes_not_run_empty():
    df = _rows()
    df = df[~((df["features"] == "zc") & (df["train_size"] == 128))]
    t = summary_table(df).set_index("features")
    assert t.loc["zc", "n=128"] == "" and t.loc["graf+zc", "n=128"] == "0.828 ± 0.100"


def test_summary_table_keeps_rows_with_an_empty_label():
    df = _rows()
    df.loc[df["features"] == "zc", "predictor"] = None  # e.g. bench_variants rows
    t = summary_table(df)
    assert t["predictor"].tolist() == ["rf", ""] and len(t) == 2


def test_summary_table_errors_name_the_problem():
    with pytest.raises(ValueError, match="no column 'spearman'"):
        summary_table(_rows(), metric="spearman")
    with pytest.raises(ValueError, match="no result rows"):
        summary_table(_rows().iloc[:0])
    with pytest.raises(FileNotFoundError, match="no results file"):
        read_results(["/nonexistent/results.csv"])


def test_cli_summary_prints_markdown(tmp_path, capsys):
    _rows().to_csv(tmp_path / "results.csv", index=False)
    assert main(["summary", str(tmp_path), "--rows", "features"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "| features | n=32 | n=128 | seeds |"
    assert out[2].startswith("| graf+zc | 0.732 ± 0.100 | 0.828 ± 0.100")

    csv, png = str(tmp_path / "results.csv"), tmp_path / "tau.png"
    assert main(["summary", csv, "--rows", "features", "--seeds", "2", "--plot", str(png)]) == 0
    assert png.stat().st_size > 1000
    out = capsys.readouterr().out.splitlines()
    assert out[2].startswith("| graf+zc | 0.682 ± 0.071 |")  # seeds 0, 1: 0.6 and 0.7 + 0.032

    assert main(["summary", csv, "--only", "features=zc", "--rows", "features"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and out[2].startswith("| zc |")
    assert main(["summary", csv, "--only", "nope"]) == 2  # one line on stderr
    assert "COLUMN=VALUE" in capsys.readouterr().err


def test_count_table_counts_chosen_candidates_per_train_size(tmp_path, capsys):
    df = _rows()
    df["chosen"] = ["et" if (s + n) % 2 else "rf" for s, n in zip(df["seed"], df["train_size"])]
    t = count_table(df, "chosen", rows=("features",)).set_index(["features", "chosen"])
    # seeds 0, 1, 2 at even n: seed 1 -> "et", seeds 0 and 2 -> "rf"
    assert t.loc[("zc", "et"), "n=32"] == 1 and t.loc[("zc", "rf"), "n=128"] == 2
    assert t.groupby(level="features").sum().to_numpy().tolist() == [[3, 3], [3, 3]]
    with pytest.raises(ValueError, match="no column 'nope'"):
        count_table(df, "nope")
    df.to_csv(tmp_path / "results.csv", index=False)
    assert main(["summary", str(tmp_path), "--rows", "features", "--counts", "chosen"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "| features | chosen | n=32 | n=128 |"
