from itaoreport.cli import main

main()
