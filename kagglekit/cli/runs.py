"""The commands about finished runs: `runs` (the table of all of them, best first) and `report` (a run's
report.md and plots)."""
import json
from pathlib import Path

import click

from .. import rundir, runs
from .options import note, path_option, print_table, quiet_option, report_files

@click.command()
@click.argument("run", required=False, type=click.Path(path_type=Path))
@path_option("Competition data folder for the gallery of wrong digits. Default: the data the run was trained on.")
@quiet_option("Print only the report's path.")
def report(run, path, quiet):
    """Write a run's report.md and its plots (loss, accuracy, learning rate, confusion, wrong digits).

    RUN is a run or ensemble folder or name (default: the newest run).

    \b
    Example: kagglekit report runs/mlp-1
    """
    run_dir = rundir.finished(run)
    click.echo(report_files(run_dir, path, quiet))


def _score(value):
    return "-" if value is None else f"{value:.4f}"


def _estimate(est):
    method = " oof" if est["method"] == "out-of-fold" else ""
    return f"{est['accuracy']:.4f} ({est['low']:.4f}–{est['high']:.4f}, {est['n']:,}{method})"


def _nets(row):
    """How many networks: with --full, the fold members that estimate + those retrained on every row that predict."""
    full = row["full"]
    return f"{row['members']} + {full['members']} full ({full['epochs']} epochs)" if full else row["members"]


def _settings(changed):
    text = ", ".join(f"{k} {','.join(map(str, v)) if isinstance(v, tuple) else v}" for k, v in changed.items())
    return text if len(text) <= 48 else text[:47] + "…"


@click.command("runs")
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON, for scripts.")
def runs_command(as_json):
    """List the finished runs and ensembles in runs/, the best validation accuracy first, with their public scores.

    An ensemble trained with --full shows its nets as "4 + 4 full (12 epochs)": the 4 fold members give the
    estimate, the 4 retrained on every row for 12 epochs predict.

    A run's public score is the best Kaggle gave a submission from it (recorded by `kagglekit submit`
    and `run --submit`; `kagglekit submissions` fetches the scores that came later).

    \b
    Example: kagglekit runs
             kagglekit runs --json | jq '.[0].name'
    """
    rows, unreadable = runs.table()
    for folder in unreadable:
        note(f"Skipped {folder}: its config.json or metrics.json is damaged; train it again or remove the folder")
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo(f"No finished runs in {runs.RUNS}/ yet: train one with `kagglekit run`.")
        return
    table = [[i, r["name"], _nets(r), r["preset"], _settings(r["changed"]) or "-", _estimate(r["estimate"]),
              _score(r["kfold"]), f"{r['train_seconds']:.1f}", r["public"] or ("pending" if r["submissions"] else "-")]
             for i, r in enumerate(rows, 1)]
    print_table(["#", "run", "nets", "preset", "changed settings", "estimate (95%, rows)", "k-fold", "seconds", "public"], table)


COMMANDS = [runs_command, report]
