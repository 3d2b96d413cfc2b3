// Package enrol is the terminal's side of enrolment and of certificate
// renewal: it makes the terminal's key pair and certificate request,
// reads an enrolment ticket (the token ops made, with the address of the
// centre's enrolment listener and the fingerprint of its device CA),
// posts the request, checks the centre's answer and installs the identity
// in the data directory; later it renews the certificate over mutual TLS
// and builds the TLS configuration of every call to the centre.
//
// The centre's side (the device CA, the tokens, the handlers) lives in
// internal/central/enrol; the two share the wire types of this package.
//
// # Files in the terminal's data directory
//
//	trust/root.pub         the pinned operator root
//	device/key.pem         the terminal's private key (0600)
//	device/cert.pem        its certificate
//	device/ca.pem          the device CA, which also signs the centre's certificate
//	device/revoked.json    written when the centre said this terminal is revoked
//	bundles/KIND.bundle    the first bundles
//
// # Trust on first use
//
// A terminal that did not pin the operator root before enrolment trusts
// the root it receives; the centre's TLS certificate is trusted because
// its CA has the fingerprint the ticket names (or the CA given with
// --ca). A root pinned before enrolment is named in the request, so the
// centre refuses a mismatch before it spends the token.
package enrol
