from leakbench.entry import main

main()
