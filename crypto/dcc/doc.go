// Package dcc verifies EU Digital COVID Certificates: the "HC1:" codes of
// the eHealth Network's specification (prefix, Base45, zlib, a COSE_Sign1
// over a CWT whose claim -260/1 holds the health certificate).
//
// Decode takes a payload apart without trusting it; only
// Unverified.Verify, with the trust store's document signer certificates
// (DSCs) and the terminal's clock, yields a credential.Credential.
// Verifier wraps both for the gate's dispatcher.
package dcc
