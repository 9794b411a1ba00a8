from leakbench.cli import main

main()
