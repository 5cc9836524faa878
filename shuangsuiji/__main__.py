from shuangsuiji.cli import main

main()
