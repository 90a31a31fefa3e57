from tui_mnist.cli import main

raise SystemExit(main())
