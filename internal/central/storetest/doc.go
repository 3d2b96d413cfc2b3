// Package storetest is the conformance suite that every central.Store
// implementation passes: run it from the implementation's tests with Run.
package storetest
