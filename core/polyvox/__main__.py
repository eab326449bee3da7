from polyvox.cli import main

main()
