"""`ftrag` command line: run, score, validate, list, report, compare, new-task, synth, and the experiments (forgetting, update)."""
from __future__ import annotations

import argparse
import errno
import logging
import os
import re
import shutil
import sys
from pathlib import Path

from bench.data.revision import load_revision
from bench.data.synth import write_all_tasks
from bench.data.tasks import available_tasks, load_task, tasks_dir, validate_task
from bench.records.errors import UserError, bug_report
from bench.records.layout import find_run, results_dir
from bench.run.allocator import bound_onednn_cache, restart_with_allocator


DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS}


def settings(args) -> list[str]:
    """key=value settings, with the shorthand options (--limit, --arms, --model) turned into their settings."""
    overrides = list(args.overrides)
    if args.limit is not None:
        overrides.append(f"limit={args.limit}")
    if args.arms:
        overrides.append(f"arms=[{args.arms}]")
    if args.model:
        overrides.append(f"model.generator={args.model}")
    return overrides


def cmd_run(args) -> None:
    from bench.run.launch import launcher_settings, run  # torch only when there is work to do

    run_dir = run(args.task, launcher_settings(args.launcher, args.processes) + settings(args), args.run_id)
    print(f"\nreport: {run_dir / 'report.md'}")


def cmd_forgetting(args) -> None:
    from bench.experiments.forgetting import run_forgetting  # torch, as for run

    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    unknown = [m for m in methods if m not in ("lora", "full")]
    if unknown:
        raise UserError(f"forgetting --methods: '{unknown[0]}' is not a fine-tuning method. Use lora, full or lora,full.")
    report = run_forgetting(args.run, [p.strip() for p in args.probes.split(",") if p.strip()], args.items, methods)
    print(f"\nreport: {report}")


def cmd_update(args) -> None:
    from bench.experiments.update import run_update  # torch, as for run

    print(f"\nreport: {run_update(args.run, args.unchanged)}")


def cmd_curve(args) -> None:
    from bench.experiments.curve import run_curve  # torch, as for run

    try:
        fractions = [float(f) for f in args.fractions.split(",") if f.strip()]
    except ValueError:
        raise UserError(f"curve --fractions: '{args.fractions}' is not a list of numbers, e.g. 0.1,0.25,0.5.") from None
    arms = [a.strip() for a in args.arms.split(",") if a.strip()] if args.arms else None
    print(f"\nreport: {run_curve(args.run, fractions, arms)}")


def cmd_sweep(args) -> None:
    from bench.experiments.sweep import run_sweep  # torch, as for run

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    overrides = settings(args)
    for model in models:  # every model's settings checked before the first one runs
        validate_task(args.task, [*overrides, f"model.generator={model}"])
    print(f"\nreport: {run_sweep(args.task, models, overrides, args.backend, args.address, args.cpus_per_cell, args.gpus_per_cell)}")


def cmd_validate(args) -> None:
    """Everything `ftrag run` with the same arguments would reject, without loading any model."""
    from bench.eval.metrics import check_headline  # scipy, which the data checks below do without

    task, cfg = validate_task(args.task, settings(args))
    check_headline(task, cfg)
    if "update" in task.spec.probes:  # the revision `ftrag update` reads: checked here too, though a run does not need it
        load_revision(task)
    print(f"{task.name}: OK ({task.spec.kind}; {len(task.corpus)} corpus documents, {len(task.train)} train, {len(task.test)} test items)")


def cmd_list(args) -> None:
    names = available_tasks()
    width = max([len(n) for n in names] + [4]) + 2
    print(f"{'task':<{width}}{'kind':<16}{'corpus':>7}{'train':>8}{'test':>7}")
    for name in names:
        try:
            task = load_task(name)
            print(f"{name:<{width}}{task.spec.kind:<16}{len(task.corpus):>7}{len(task.train):>8}{len(task.test):>7}")
        except UserError as err:
            print(f"{name:<{width}}invalid: {str(err).splitlines()[-1].lstrip('- ')} (see `ftrag validate {name}`)")


def cmd_score(args) -> None:
    """Every figure again from stored predictions (no model, no answering), then the report."""
    from bench.eval.scoring import score_run  # scipy, matplotlib: a second or two that `run` often does without
    from bench.report import write_report

    folder = find_run(args.run)
    report = write_report(folder.path, score_run(folder))
    print(f"scored {folder.path}\n{report}\n{report.with_suffix('.html')}")


def cmd_report(args) -> None:
    from bench.report import write_report
    from bench.report.runs import load_run

    folder = find_run(args.run, marker="scores.json")
    report = write_report(folder.path, load_run(folder.path).scores)
    print(f"{report}\n{report.with_suffix('.html')}")


def cmd_compare(args) -> None:
    from bench.report import comparison_dir, write_comparison

    run_dirs = [find_run(target, marker="scores.json").path for target in args.runs]
    report = write_comparison(run_dirs, Path(args.out) if args.out else comparison_dir(run_dirs, results_dir()))
    print(f"{report}\n{report.with_suffix('.html')}")


def cmd_synth(args) -> None:
    for folder in write_all_tasks(Path(args.out), args.seed):
        print(f"wrote {folder}")


def cmd_new_task(args) -> None:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", args.name):
        raise UserError(f"new-task: '{args.name}' is not a usable task name: use letters, digits, '_' and '-'.")
    target = tasks_dir() / args.name
    if target.exists():
        raise UserError(f"new-task: {target} already exists; pick another name or edit that task.")
    shutil.copytree(tasks_dir() / "_template" / args.kind, target)
    task_file = target / "task.yaml"
    task_file.write_text(task_file.read_text().replace("__NAME__", args.name))
    print(f"created {target} from the {args.kind} template: replace its data files with yours, "
          f"then run `ftrag validate {args.name}` and `make bench TASK={args.name}`")


def add_task_arguments(command: argparse.ArgumentParser) -> None:
    """A task and its settings: what `run` and `validate` both take."""
    command.add_argument("task", help="task name under tasks/, or a path to a task folder")
    command.add_argument("overrides", nargs="*", help="settings as key=value, e.g. finetune.epochs=2 retrieval.k=5")
    command.add_argument("--limit", type=int, help="test items per stratum")
    command.add_argument("--arms", help="comma-separated arms (default: base,fewshot,rag,ft,ft_rag, and ft_plain with paraphrases)")
    command.add_argument("--model", help="generator: a preset (smollm2-135m, gemma3-270m), an HF id or a local path")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ftrag", description="Fine-tuning versus RAG, measured.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run every arm of a task and write a report")
    add_task_arguments(run)
    run.add_argument("--run-id", help="results folder name (default: model and config hash, so a rerun resumes)")
    run.add_argument("--launcher", choices=["local", "accelerate"], default="local",
                     help="accelerate: fine-tune in several processes through accelerate launch (DDP; finetune.sharding=fsdp shards the model)")
    run.add_argument("--processes", type=int, help="with --launcher accelerate: processes (default: one per GPU, or 2 on CPU)")
    run.set_defaults(func=cmd_run)
    validate = sub.add_parser("validate", help="check a task's YAML, data and settings (as run would), reporting every problem")
    add_task_arguments(validate)
    validate.set_defaults(func=cmd_validate)
    forgetting = sub.add_parser("forgetting", help="general-knowledge probes (MMLU, TruthfulQA, ARC) before and after fine-tuning, on a finished run")
    forgetting.add_argument("run", help="a run folder, or a task name for its latest run")
    forgetting.add_argument("--probes", default="mmlu,truthfulqa_mc1,arc_challenge", help="comma-separated probes (default: all three)")
    forgetting.add_argument("--items", type=int, default=100, help="questions per probe, a seeded sample (MMLU: the same number from each subject)")
    forgetting.add_argument("--methods", default="lora,full", help="lora,full (default) also trains ft with the method the run did not use")
    forgetting.set_defaults(func=cmd_forgetting)
    update = sub.add_parser("update", help="apply the task's revision (changed facts) to every arm and measure who stays current, on a finished run")
    update.add_argument("run", help="a run folder, or a task name for its latest run")
    update.add_argument("--unchanged", type=int, default=40, help="unchanged test items answered too, a seeded sample (collateral damage)")
    update.set_defaults(func=cmd_update)
    curve = sub.add_parser("curve", help="fine-tune on fractions of the training set: how many examples fine-tuning needs to match RAG")
    curve.add_argument("run", help="a run folder, or a task name for its latest run")
    curve.add_argument("--fractions", default="0.1,0.25,0.5", help="fractions of the training examples (the run itself is 1.0)")
    curve.add_argument("--arms", help="fine-tuned arms to draw (default: ft_plain, or ft where the run has no ft_plain, and ft_rag)")
    curve.set_defaults(func=cmd_curve)
    sweep = sub.add_parser("sweep", help="run a task with several models and report every arm against model size")
    add_task_arguments(sweep)
    sweep.add_argument("--models", required=True, help="comma-separated generators: presets, HF ids or local paths")
    sweep.add_argument("--backend", choices=["local", "ray"], default="local",
                       help="local: one model after another here; ray: every model as a Ray task, in parallel (pip install -e \".[ray]\")")
    sweep.add_argument("--address", default=None, help="Ray cluster to join (e.g. auto, or host:6379); default: RAY_ADDRESS, else a new local one")
    sweep.add_argument("--cpus-per-cell", type=float, default=1, help="CPUs Ray reserves for each model's run (its torch threads)")
    sweep.add_argument("--gpus-per-cell", type=float, default=0, help="GPUs Ray reserves for each model's run")
    sweep.set_defaults(func=cmd_sweep)
    sub.add_parser("list", help="list the tasks with kind and sizes").set_defaults(func=cmd_list)
    score = sub.add_parser("score", help="recompute every score and the report from a run's stored predictions (no model)")
    score.add_argument("run", help="a run folder, or a task name for its latest run")
    score.set_defaults(func=cmd_score)
    report = sub.add_parser("report", help="rewrite a run's report from its stored scores")
    report.add_argument("run", help="a run folder, or a task name for its latest run")
    report.set_defaults(func=cmd_report)
    compare = sub.add_parser("compare", help="one report across several runs (e.g. one task on two models)")
    compare.add_argument("runs", nargs="+", help="run folders, or task names for their latest runs")
    compare.add_argument("--out", help="output folder (default: results/compare-<hash of the run paths>)")
    compare.set_defaults(func=cmd_compare)
    new_task = sub.add_parser("new-task", help="start a task from tasks/_template/<kind>")
    new_task.add_argument("name")
    new_task.add_argument("--kind", choices=["qa", "classification", "drafting"], default="qa")
    new_task.set_defaults(func=cmd_new_task)
    synth = sub.add_parser("synth", help="regenerate the synthetic fictional-company tasks (qa, cls, draft)")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--out", default=str(tasks_dir()), help="folder that receives synth_qa, synth_cls, synth_draft")
    synth.set_defaults(func=cmd_synth)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Exit status 0 when done, 2 for bad input (one message, no traceback), 1 for a bug (traceback in a log file)."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    bound_onednn_cache()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for noisy in ("httpx", "transformers", "sentence_transformers", "huggingface_hub", "faiss.loader", "bm25s", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    parser = build_parser()
    # key=value overrides may come after options (`--limit 4 finetune.epochs=1`), which argparse alone rejects
    args, extra = parser.parse_known_args(argv)
    takes_overrides = args.command in ("run", "validate", "sweep")
    unknown = [x for x in extra if "=" not in x or x.startswith("-") or not takes_overrides]
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if takes_overrides:
        args.overrides = list(args.overrides) + extra
    try:
        if argv is None:  # the console command; a caller of main(argv) keeps its own process
            restart_with_allocator()
        args.func(args)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nstopped. Finished work is saved: run the same command again to continue.", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of the output stopped early (`ftrag list | head`): nothing went wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's flush does not fail again
        return 0
    except OSError as err:  # a full disk or a folder that cannot be written: the user's to fix, not a bug
        if err.errno not in DISK_ERRORS:
            print(bug_report(err, results_dir(), ["ftrag", *(sys.argv[1:] if argv is None else argv)]), file=sys.stderr)
            return 1
        print(f"error: cannot write {err.filename or 'a file'}: {err.strerror}. Free some space or fix the folder's permissions "
              "(or set FTRAG_CACHE_DIR / FTRAG_RESULTS_DIR elsewhere), then run the same command again: finished work "
              "is kept, and nothing half written is ever read back.", file=sys.stderr)
        return 2
    except Exception as err:  # a bug: one line for the user, the traceback in a log file
        print(bug_report(err, results_dir(), ["ftrag", *(sys.argv[1:] if argv is None else argv)]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
