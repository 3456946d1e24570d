// Package realtime holds the pieces of Hatchgrid's realtime API that know
// nothing of records or HTTP: connected clients with their subscriptions
// and bounded outboxes, and the Broker that keeps this instance's clients
// and carries record events between instances.
//
// The in-process Local broker delivers events to the handlers of the same
// process; the Cluster broker keeps the same client registry and replaces
// only Publish, which also hands each event to a transport (Redis pub/sub)
// for the other instances.
package realtime
