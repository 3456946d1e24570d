// Package cluster holds what the instances of one Hatchgrid deployment
// share through Redis, knowing nothing of records or HTTP: a message Bus
// on Redis pub/sub (topics, acknowledgements, resubscription after an
// outage), the Registry of live members with their heartbeats, and a
// Casbin watcher that tells the other instances to reload their policies.
//
// Every key and channel lives under a prefix, so that deployments (or
// tests) sharing one Redis server never see each other's traffic: pub/sub
// channels are global to a Redis server, whatever database a client
// selected.
package cluster
