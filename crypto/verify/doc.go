// Package verify is the one entry point that turns a scanned payload into a
// verified credential: it enforces the payload limit, recognises the format
// by its prefix (HCN1: native, HC1: EU DCC, shc:/ SMART Health Card) and
// hands the payload to that format's verifier with the terminal's trust
// store and clock.
//
// Every refusal is a *credential.Rejection with a stable reason code.
package verify
