package engine

import "sentinel/internal/central"

// Fact is a fact about a holder as the central store keeps it.
type Fact = central.Fact

// Kind is the kind of a fact.
type Kind = central.FactKind

// Kinds of facts, as rules see them in f.kind; central.FactKind documents
// each.
const (
	KindConfirmed    = central.FactConfirmed
	KindContact      = central.FactContact
	KindFever        = central.FactFever
	KindVisit        = central.FactVisit
	KindHome         = central.FactHome
	KindTestNegative = central.FactTestNegative
	KindWhitelist    = central.FactWhitelist
	KindManual       = central.FactManual
)
