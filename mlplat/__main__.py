from mlplat.cli.main import main

main()
