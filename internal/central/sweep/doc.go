// Package sweep publishes what the code engine's rules give: it judges
// every holder with facts, and every holder the engine still holds at a
// colour, by the rule sets in force (engine.PlanSweep); it reads only
// those holders' status entries (engine.Snapshot.Current), so a holder
// without facts who is green costs nothing. It publishes the changes in one status bundle through the status
// publisher, the path of `status set`, then records each change in the
// engine's audit. `sentinel-central rules apply` runs it; serve's
// scheduler and the event path are to run the same.
package sweep
