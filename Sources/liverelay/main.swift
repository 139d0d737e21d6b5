import LiveRelayApp

await LiveRelayCommand.main()
