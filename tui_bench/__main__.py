from tui_bench.cli import main

main()
