// Package credential defines what every code format verifies to: a
// [Credential] (format, issuer, holder, colour or facts, validity) or a
// [*Rejection] carrying a stable [Reason] code and a sentence a guard
// understands.
//
// It also holds the limits on outside bytes that every format enforces
// before parsing ([MaxPayload], [MaxInflated]) and the derivation of holder
// pseudonyms for formats that carry a name and birth date ([Pseudonym]).
//
// The native code, EU DCC and SMART Health Card packages all return these
// types, so the gate and the journal treat every format alike.
package credential
