// LiveRelayApp
