from robodyne.app import main

main()
