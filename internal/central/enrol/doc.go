// Package enrol gives terminals their identity: a device CA at the centre,
// single-use enrolment tokens bound to a site, the enrolment HTTP handler
// that turns a token and a certificate request into a device certificate,
// the centre's mutual TLS configuration and the Guard that refuses
// revoked devices. The terminal's side (the request, the checks of the
// answer, the files, renewal, the ticket) is package sync/enrol.
//
// # Enrolment
//
// Ops make a token for a site (NewToken, kept as its hash in the central
// store's registry, Store); the installer gives it to the
// terminal, which makes its own key pair (the private key never leaves the
// terminal) and POSTs a Request: the token and a PKCS #10 certificate
// request. The Handler checks the request, refuses it when the terminal
// pinned another operator root (before the token is spent), redeems the
// token (once, before it expires) and answers with a Response: the device certificate (short
// lived, the device id in the Subject CN and in a URI SAN
// "sentinel:device:ID", extended key usage clientAuth), the device CA, the
// operator root public key to pin and the first bundles. Install verifies
// the answer on the terminal and writes it into the data directory:
//
//	trust/root.pub         the pinned operator root
//	device/key.pem         the terminal's private key (0600)
//	device/cert.pem        its certificate
//	device/ca.pem          the device CA, which also signs the centre's certificate
//	bundles/KIND.bundle    the first bundles
//
// # Mutual TLS
//
// After enrolment every device call is mutual TLS 1.3: ServerTLSConfig
// requires a client certificate of the device CA; Guard refuses every
// request of a revoked device with 403 device-revoked, which the terminal
// reads (a refused handshake would tell it only "bad certificate");
// sync/enrol.ClientTLSConfig loads a terminal's identity from its data
// directory. sync/server.TLSAuthenticator takes the device id from
// the verified certificate, so the authenticated id wins over any id a
// request names.
//
// The registry of tokens and devices is the central store's
// (central.Registry): on bbolt or PostgreSQL, so that every server behind a
// load balancer spends a token once and sees a revocation at its next
// request (Revocations asks the store at each request). Spending the token
// and recording the device are one transaction (EnrolDevice): a centre
// that fails between them answers 500, which the terminal retries, and
// its token is still unspent. A retry after an answer that was lost on
// the way (same token, same key: the terminal keeps its key pair until
// the answer is installed) is answered again while the token is valid:
// the device id is derived from the token and the key, so the retry names
// the device the token enrolled, which gets a new certificate for the same
// key. Another key with a spent token is refused token-used: ops issue a
// new token.
//
// # Caveats
//
// The enrolment endpoint cannot ask for a client certificate (the terminal
// has none yet): serve the Handler on its own listener, or with
// tls.VerifyClientCertIfGiven. A terminal that did not pin the root before
// enrolment trusts the root it receives on first use; the token, a secret
// bound to one site and usable once, is what makes that answer the centre's.
//
// # Renewal
//
// A device certificate lives DefaultCertTTL. RenewDue says when a third of
// its lifetime remains; Renew then asks the RenewHandler, over mutual TLS
// with the current certificate, for a new one for the same key and id, and
// replaces cert.pem atomically (the key never changes, so key and
// certificate never mismatch on disk). A revoked device is refused
// (403 device-revoked); an expired certificate cannot renew and must re-enrol with a
// new token.
package enrol
