package central

import (
	"context"
	"fmt"
	"slices"
)

// FeverSource is the Source of the fever fact kept at ingest for the
// record seq of a device's journal epoch: "passage:DEVICE/EPOCH/SEQ". A
// record gives at most one fever fact, so the source identifies it.
func FeverSource(device string, epoch Epoch, seq uint64) string {
	return fmt.Sprintf("passage:%s/%s/%d", device, epoch, seq)
}

// KeepFevers adds each of facts (kind fever, each with its FeverSource)
// to s in one transaction, except those whose holder already has a fact
// with the same Source: an upload sent again, a batch replayed, or a
// record ingested twice add nothing. It returns the facts it added, with
// their Seq, in the order given. A fever is never lost for a missing
// registration: one at a site that ops have not put in an area yet
// (`sentinel-central sites set`) is kept with its site as recorded, and
// is also returned in unplaced; the engine places it by its site when it
// judges, so it counts from the moment ops add the site. A fever that
// names no site at all (a terminal enrolled without one) is kept too, with
// no place: rules that ask where it was measured find no area; it is also
// returned in siteless, so that the ingest can tell ops to enrol the
// terminal to its site.
func KeepFevers(ctx context.Context, s EngineStore, facts []Fact, by ChangeBy) (added, unplaced, siteless []Fact, err error) {
	if len(facts) == 0 {
		return nil, nil, nil, nil
	}
	err = s.UpdateEngine(ctx, func(tx EngineTx) error {
		added, unplaced, siteless, err = KeepFeversTx(ctx, tx, facts, by)
		return err
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return added, unplaced, siteless, nil
}

// KeepFeversTx is KeepFevers inside a transaction that is already open:
// an ingest's (an EngineStep), so that the fevers of the records it
// stores are kept with them or not at all.
func KeepFeversTx(ctx context.Context, tx EngineTx, facts []Fact, by ChangeBy) (added, unplaced, siteless []Fact, err error) {
	sites, err := tx.Sites(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	known := map[string][]string{} // holder → sources of its facts
	for _, f := range facts {
		if f.Kind != FactFever || f.Source == "" {
			return nil, nil, nil, fmt.Errorf("%w: keep fevers: a %s fact from %q is not a fever with its source", ErrEngineInput, f.Kind, f.Source)
		}
		srcs, ok := known[f.Holder]
		if !ok {
			have, err := tx.Facts(ctx, f.Holder)
			if err != nil {
				return nil, nil, nil, err
			}
			for _, h := range have {
				srcs = append(srcs, h.Source)
			}
		}
		if slices.Contains(srcs, f.Source) {
			known[f.Holder] = srcs
			continue
		}
		g, err := tx.AddFact(ctx, f, by)
		if err != nil {
			return nil, nil, nil, err
		}
		known[f.Holder] = append(srcs, f.Source)
		added = append(added, g)
		switch {
		case g.Site == "" && g.Area == "":
			siteless = append(siteless, g)
		case g.Area == "" && !slices.ContainsFunc(sites, func(s Site) bool { return s.ID == g.Site }):
			unplaced = append(unplaced, g)
		}
	}
	return added, unplaced, siteless, nil
}

// WithdrawFeversTx removes the fevers that a guard's override withdraws
// (the person re-measured normal with a clinical thermometer): each of
// withdraw names its holder and the Source of the fever kept for the
// overridden record. A fever not kept (none was, or it is withdrawn
// already) is skipped. It returns the facts it removed, each recorded in
// the engine's audit as by.
func WithdrawFeversTx(ctx context.Context, tx EngineTx, withdraw []Fact, by ChangeBy) (removed []Fact, err error) {
	for _, w := range withdraw {
		have, err := tx.Facts(ctx, w.Holder)
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(have, func(f Fact) bool { return f.Kind == FactFever && f.Source == w.Source })
		if i < 0 {
			continue
		}
		f, err := tx.RemoveFact(ctx, have[i].Seq, by)
		if err != nil {
			return nil, err
		}
		removed = append(removed, f)
	}
	return removed, nil
}
