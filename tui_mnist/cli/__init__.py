"""Command line: `tui-mnist` opens the app; `train`, `sweep`, `eval`, `inspect`, `runs`, `export`
and `attach` are the headless and direct entry points, and `serve` gives the app to browsers.
numpy is imported only after the BLAS thread count is fixed. Every `train` is a run folder (see
tui_mnist.runs).

This module imports nothing: the console script imports it before main() runs, and a ctrl+c in
that time could only end in a traceback. From main()'s first line on, a ctrl+c that lands before
a command has put its own handlers in place ends the command quietly, with EXIT_INTERRUPTED.
"""

EXIT_INTERRUPTED = 130  # 128 + SIGINT: what a shell reports for a command ended by ctrl+c


def main(argv: list[str] | None = None) -> int:
    try:
        return _run_command(argv)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _run_command(argv: list[str] | None) -> int:
    from tui_mnist.cli.commands import attach_command, eval_command, export_command, list_runs_command
    from tui_mnist.cli.output import run_guarded
    from tui_mnist.cli.parser import build_parser
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
    if args.command == "serve":
        from tui_mnist.cli.serve import serve

        return run_guarded(lambda: serve(args.host, args.port, args.runs_dir, args.app_data_dir, args.public_url))
    from tui_mnist.tui.app import run_app

    if args.command == "inspect":
        return run_app(inspect_model=args.model, data_dir=args.data_dir)
    return run_app(data_dir=args.app_data_dir)
