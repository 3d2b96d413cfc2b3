// Package sdnotify sends service notifications to systemd (sd_notify(3)):
// readiness (READY=1) once the daemon serves, STOPPING=1 when it drains,
// a STATUS= line for `systemctl status`, and watchdog keep-alives
// (WATCHDOG=1) at half the interval systemd asked for in WATCHDOG_USEC.
//
// The protocol is one datagram per notification on the unix socket named
// by NOTIFY_SOCKET (a path, or an abstract socket written with a leading
// '@'). Outside systemd the variable is unset and every call does nothing.
//
// # Caveats
//
// A Notifier is given the socket and the watchdog settings by its owner
// (main reads the environment); the package itself reads no environment
// variables, so tests point it at a socket of their own.
package sdnotify
