package watch

// ReconnectDelay exposes the events stream's reconnect backoff to tests.
var ReconnectDelay = reconnectDelay
