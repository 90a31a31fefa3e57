"""Command line: `tui-mnist` opens the app; `train`, `eval`, `inspect`, `runs`, `export` and
`attach` are the headless and direct entry points. numpy is imported only after the BLAS thread
count is fixed. Every `train` is a run folder (see tui_mnist.runs)."""

from __future__ import annotations

from tui_mnist.cli.parser import build_parser


def main(argv: list[str] | None = None) -> int:
    from tui_mnist.cli.commands import attach_command, eval_command, export_command, list_runs_command
    from tui_mnist.cli.output import run_guarded
    from tui_mnist.cli.train import train_command

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "train":
        return train_command(parser, args)
    if args.command == "sweep":
        from tui_mnist.cli.sweep import sweep_command

        return sweep_command(parser, args)
    if args.command == "eval":
        return run_guarded(lambda: eval_command(args.model, args.data_dir, args.json))
    if args.command == "runs":
        return run_guarded(lambda: list_runs_command(args.runs_dir, args.json, args.delete))
    if args.command == "export":
        return run_guarded(lambda: export_command(args))
    if args.command == "attach":
        return run_guarded(lambda: attach_command(args.run, args.runs_dir))
    from tui_mnist.tui.app import run_app

    if args.command == "inspect":
        return run_app(inspect_model=args.model, data_dir=args.data_dir)
    return run_app(data_dir=args.app_data_dir)
