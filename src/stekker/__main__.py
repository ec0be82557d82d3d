from stekker.cli import main

main()
