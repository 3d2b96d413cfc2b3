// Package trust holds the keys a terminal trusts: native issuer keys, EU
// DCC document signer certificates and SMART Health Card issuer key sets,
// each with its validity window, plus the deployment's pseudonym key.
//
// A [Store] is built once (from files, or from a signed trust bundle) and
// then only read: lanes look keys up concurrently without locks. To change
// what is trusted, build a new Store and swap the pointer.
//
// Keys are parsed once, when they are added, never on the verification path.
package trust
