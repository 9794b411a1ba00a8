from leakbench._entry import main

main()
