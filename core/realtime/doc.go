// Package realtime holds the pieces of Hatchgrid's realtime API that know
// nothing of records or HTTP: connected clients with their subscriptions
// and bounded outboxes, and the Broker that keeps this instance's clients
// and carries record events between instances.
//
// The in-process Local broker delivers events to the handlers of the same
// process; a cluster broker (Redis pub/sub) keeps the same client registry
// and replaces only Publish and Subscribe.
package realtime
