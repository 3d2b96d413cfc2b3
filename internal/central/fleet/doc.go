// Package fleet turns a terminal's stored health report
// (central.Health) into what the fleet views show: journal backlog,
// bundle versions and freshness, clock offset, device faults and the
// report's age. sentinel-central devices list and the ops API's devices
// endpoint both print it.
package fleet
