from leadflow.cli import main

raise SystemExit(main())
