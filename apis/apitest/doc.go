// Package apitest is the API test kit: an App with its router and a
// superuser (Env), requests sent as a superuser, a user or a guest
// through httptest with no port, responses decoded once into typed
// collections, records, lists and error bodies, and the hooks each
// request fired (coretest.HookRecorder). Golden files for large bodies
// are coretest.GoldenJSON. Only tests import it: those of apis, of the
// plugins and of the root package.
package apitest
