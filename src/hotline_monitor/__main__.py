from hotline_monitor.agent.cli import main

raise SystemExit(main())
