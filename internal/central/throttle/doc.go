// Package throttle guards the centre's listeners that answer anyone on
// the network (enrolment, the operator API, issuance): a token bucket per
// source address, and a log of refusals that a flood cannot turn into a
// flood of log lines.
//
// Every answer of 400 to 499 from the wrapped handler (a wrong or used
// enrolment token, a missing ops token, a malformed request) and every
// request over the rate is a refusal. The first refusal of a source is
// logged at once; the next ones within Options.LogEvery are counted and
// logged as one line with the count when the minute is up, by the next
// refusal or by Sweep, which the owner calls on a timer. So a guesser of
// enrolment tokens is seen within a minute, with its address and how many
// tries it made, and cannot drown the log.
//
// A source is an IPv4 address or an IPv6 /64 (one customer's prefix). The
// table of sources is bounded (Options.MaxSources); when it is full,
// sources not yet known share one bucket until Sweep forgets idle ones.
//
// # Caveats
//
// Behind a reverse proxy every request comes from the proxy's address:
// terminate TLS on the centre itself, as the shipped configuration does.
package throttle
