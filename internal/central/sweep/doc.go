// Package sweep publishes what the code engine's rules give: it judges
// every holder with facts by the rule sets in force (engine.PlanSweep)
// and publishes the changes in one status bundle through the status
// publisher, the path of `status set`, then records each change in the
// engine's audit. `sentinel-central rules apply` runs it; serve's
// scheduler and the event path are to run the same.
package sweep
