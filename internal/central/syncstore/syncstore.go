package syncstore

import (
	"context"
	"crypto/hpke"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"sentinel/crypto/credential"
	"sentinel/internal/central"
	"sentinel/internal/gate"
	"sentinel/internal/passage"
	"sentinel/internal/policy"
	"sentinel/sync/journal"
	"sentinel/sync/server"
)

// Store is what the adapter needs of a central store: its ingest part.
// Every central.Store is one.
type Store = central.Ingester

// Options configure an Adapter. The zero value is usable.
type Options struct {
	// Site names the site of a device, stored with each of its passages;
	// nil stores an empty site. Its error (the registry cannot be read)
	// fails the ingest, as temporary.
	Site func(ctx context.Context, device string) (string, error)
	// CentreKey is the centre's HPKE private key; nil leaves Holder empty.
	CentreKey hpke.PrivateKey
	// Fevers, when set (with CentreKey), keeps each fever recorded at a
	// checkpoint as a fact of the code engine, in the same transaction of
	// the store as its record: a record whose reasons name
	// policy.ReasonFever, with a reading, an opened holder and no
	// override (central.KeepFeversTx; see Fevers). A record stored is
	// never without its fever, nor a fever kept twice. A guard's override
	// with reason retake-normal withdraws the fever of the passage it
	// overrides (see Retakes): it is not kept, or removed if it was.
	Fevers bool
	// OnFever, when set, is called after the fevers of an upload are kept,
	// once per fact added (never for one an upload sent again repeats) and
	// once per fact withdrawn: the engine's event path judges the holder
	// again from there.
	OnFever func(central.Fact)
	// Now is the clock of the facts' audit records (time.Now when nil).
	Now func() time.Time
	// Logger gets fevers kept at a site that has no area yet and those
	// that name no site, which are not kept (discarded when nil).
	Logger *slog.Logger
}

// Adapter is a server.Store over a central Store.
type Adapter struct {
	store Store
	opts  Options

	mu     sync.Mutex
	opener *journal.Opener
	added  map[string]bool // data key entries tried with opener
	loaded map[loadKey]bool
}

type loadKey struct {
	device string
	epoch  journal.Epoch
}

var _ server.Store = (*Adapter)(nil)

// New returns an Adapter over s.
func New(s Store, opts Options) *Adapter {
	a := &Adapter{store: s, opts: opts, added: map[string]bool{}, loaded: map[loadKey]bool{}}
	if opts.CentreKey != nil {
		a.opener = journal.NewOpener(opts.CentreKey)
	}
	return a
}

// Ingest implements server.Store: in one transaction of the central store
// it reads the mark, calls server.Admit, stores what Admit keeps with its
// Break and the batch's data keys, and raises the mark to the last kept
// record with its hash.
func (a *Adapter) Ingest(ctx context.Context, b *server.Batch) (server.Ingested, error) {
	into := central.Epoch(b.Epoch)
	var fork central.Fork // of the branch the batch is for
	if b.Branch != (journal.Epoch{}) {
		f, ok, err := a.store.Fork(ctx, b.Device, central.Epoch(b.Branch))
		if err != nil {
			return server.Ingested{}, err
		}
		if !ok || f.Journal != central.Epoch(b.Epoch) {
			return server.Ingested{}, fmt.Errorf("%w: %s of %s/%s", server.ErrUnknownBranch, b.Branch, b.Device, b.Epoch)
		}
		if len(b.Records) > 0 && uint64(b.Records[0].Seq) < f.At {
			return server.Ingested{}, fmt.Errorf("%w: branch %s starts at %d, the batch at %d", server.ErrInvalid, b.Branch, f.At, b.Records[0].Seq)
		}
		into, fork = central.Epoch(b.Branch), f
	}
	epochOf, err := a.overridden(ctx, b, into, fork)
	if err != nil {
		return server.Ingested{}, err
	}
	recs := make([]central.Record, len(b.Records))
	opened, err := a.open(ctx, b)
	if err != nil {
		return server.Ingested{}, err
	}
	var site string
	if a.opts.Site != nil {
		if site, err = a.opts.Site(ctx, b.Device); err != nil {
			// Never store a registered terminal's passages without its
			// site: fail as temporary, the terminal retries.
			return server.Ingested{}, fmt.Errorf("syncstore: ingest %s/%s: read the site of the device: %w", b.Device, b.Epoch, err)
		}
	}
	for i := range b.Records {
		r := &b.Records[i]
		if r.Rec == nil {
			return server.Ingested{}, fmt.Errorf("syncstore: ingest %s/%s: record %d was not checked by the server", b.Device, b.Epoch, r.Seq)
		}
		recs[i] = central.Record{
			Seq: uint64(r.Seq), Stored: r.Stored, Time: r.Rec.Time, Site: site, Holder: Holder(opened[i].Holder),
			Decision: string(r.Rec.Decision), Reasons: r.Rec.Reasons, Hash: r.Hash, Break: r.Break, Salvaged: r.Salvaged,
		}
	}
	var (
		kept                      []server.Record
		added, unplaced, siteless []central.Fact
		withdrawn                 []central.Fact
	)
	admit := Admit(b.Records, recs, &kept)
	if a.opts.Fevers && a.opener != nil {
		by := central.ChangeBy{Time: a.now(), By: "ingest:" + b.Device, Why: "fever recorded at a checkpoint"}
		inner := admit
		admit = func(m central.Link) ([]central.Record, central.EngineStep, error) {
			rest, _, err := inner(m)
			if err != nil {
				return nil, nil, err
			}
			added, unplaced, siteless, withdrawn = nil, nil, nil, nil
			contents := opened[len(opened)-len(kept):]
			facts := Fevers(b.Device, into, site, kept, contents)
			// A fever the guard overrode as re-measured normal does not
			// count: not kept when its override comes in the same
			// upload, removed when it was kept before.
			retakes := Retakes(b.Device, epochOf, kept, contents)
			facts = slices.DeleteFunc(facts, func(f central.Fact) bool {
				return slices.ContainsFunc(retakes, func(r central.Fact) bool { return r.Source == f.Source })
			})
			if len(facts) == 0 && len(retakes) == 0 {
				return rest, nil, nil
			}
			return rest, func(ctx context.Context, tx central.EngineTx) (err error) {
				if added, unplaced, siteless, err = central.KeepFeversTx(ctx, tx, facts, by); err != nil {
					return err
				}
				withdrawn, err = central.WithdrawFeversTx(ctx, tx, retakes, central.ChangeBy{Time: by.Time, By: by.By,
					Why: "the guard re-measured the temperature as normal (override " + gate.OverrideRetakeNormal + ")"})
				return err
			}, nil
		}
	}
	link, err := a.store.IngestLinked(ctx, b.Device, into, recs, b.Keys, admit)
	if errors.Is(err, central.ErrMalformed) {
		return server.Ingested{}, fmt.Errorf("%w: %w", server.ErrInvalid, err)
	}
	var forked *central.ForkError
	if errors.As(err, &forked) {
		return server.Ingested{}, &server.ForkError{Mark: server.Mark{Seq: journal.Seq(link.Seq), Hash: journal.Hash(link.Hash)},
			At: journal.Seq(forked.Fork.At), Branch: journal.Epoch(forked.Fork.Branch)}
	}
	if errors.Is(err, central.ErrEpochOwned) {
		return server.Ingested{}, fmt.Errorf("%w: %w", server.ErrEpochOwned, err)
	}
	var fixed *central.SiteFixedError
	if errors.As(err, &fixed) {
		return server.Ingested{}, fmt.Errorf("%w: %w", &server.SiteError{Site: fixed.Site, Kept: fixed.Kept}, err)
	}
	if errors.Is(err, central.ErrBusy) {
		return server.Ingested{}, fmt.Errorf("%w: %w", server.ErrBusy, err)
	}
	if err != nil {
		return server.Ingested{}, err
	}
	a.keptFevers(b, added, unplaced, siteless, withdrawn)
	return server.Ingested{Mark: server.Mark{Seq: journal.Seq(link.Seq), Hash: journal.Hash(link.Hash)}, Kept: kept}, nil
}

// Admit is the sync server's decision inside a central store's ingest
// transaction: server.Admit over the checked records of an upload against
// the stored mark. recs are the central records of those records, one for
// one; the AdmitFunc returns the suffix of recs that server.Admit keeps,
// with the Break it sets, and stores what it kept in *kept.
//
// A mark stored without its hash (written before the stores kept it) is
// taken to link to the first record past it: the link cannot be checked,
// which is no evidence of a break.
func Admit(checked []server.Record, recs []central.Record, kept *[]server.Record) central.AdmitFunc {
	return func(m central.Link) ([]central.Record, central.EngineStep, error) {
		mark := server.Mark{Seq: journal.Seq(m.Seq), Hash: journal.Hash(m.Hash)}
		if mark.Seq > 0 && m.Hash == ([32]byte{}) && len(checked) > 0 {
			if i := int(mark.Seq + 1 - checked[0].Seq); mark.Seq+1 >= checked[0].Seq && i < len(checked) && checked[i].Rec != nil {
				mark.Hash = checked[i].Rec.Prev
			}
		}
		k, err := server.Admit(mark, checked)
		if err != nil {
			return nil, nil, err
		}
		*kept = k
		out := recs[len(recs)-len(k):]
		if len(k) > 0 && k[0].Break != out[0].Break {
			out = append([]central.Record(nil), out...)
			out[0].Break = k[0].Break
		}
		return out, nil, nil
	}
}

// HighWater implements server.Store.
func (a *Adapter) HighWater(ctx context.Context, device string, epoch journal.Epoch) (server.Mark, error) {
	l, err := a.store.Link(ctx, device, central.Epoch(epoch))
	if err != nil {
		return server.Mark{}, err
	}
	return server.Mark{Seq: journal.Seq(l.Seq), Hash: journal.Hash(l.Hash)}, nil
}

// Fevers returns the fever facts of stored records: one for each record
// whose reasons name policy.ReasonFever, that carries a reading and an
// opened holder, and is not a guard's override of an earlier passage (the
// reading is the earlier record's). contents are the records' opened
// fields, one for one. Each fact's Source is central.FeverSource of the
// record, its Site the device's site.
func Fevers(device string, epoch central.Epoch, site string, recs []server.Record, contents []journal.Contents) []central.Fact {
	var out []central.Fact
	for i, r := range recs {
		c := contents[i]
		if r.Rec == nil || r.Rec.Override != nil || c.Holder == (credential.Holder{}) ||
			c.Temperature.State != passage.TempOK || !slices.Contains(r.Rec.Reasons, policy.ReasonFever) {
			continue
		}
		out = append(out, central.Fact{
			Holder: Holder(c.Holder), Kind: central.FactFever, At: r.Rec.Time, Site: site,
			Temperature: c.Temperature.Value, Source: central.FeverSource(device, epoch, uint64(r.Seq)),
		})
	}
	return out
}

// overridden returns where the centre stores the record of a sequence
// number that a retake-normal override of b names (Override.Of): under
// into, the epoch or fork branch b is stored under, unless b is for a
// branch (fork) and the record comes before the fork, which is stored
// under the epoch (or earlier branch) the fork went from, as far back as
// the journal epoch. The forks are read only for such an override.
func (a *Adapter) overridden(ctx context.Context, b *server.Batch, into central.Epoch, fork central.Fork) (func(seq uint64) central.Epoch, error) {
	at := func(uint64) central.Epoch { return into }
	if !a.opts.Fevers || a.opener == nil || fork.Branch == (central.Epoch{}) || !slices.ContainsFunc(b.Records, func(r server.Record) bool {
		return r.Rec != nil && r.Rec.Override != nil && r.Rec.Override.Why == gate.OverrideRetakeNormal && uint64(r.Rec.Override.Of) < fork.At
	}) {
		return at, nil
	}
	// From the batch's branch back to the journal epoch: each fork went
	// from an epoch or a branch made earlier, at a sequence number.
	chain := []central.Fork{fork}
	for f := fork; f.Epoch != f.Journal && len(chain) <= maxForks; {
		g, ok, err := a.store.Fork(ctx, b.Device, f.Epoch)
		if err != nil {
			return nil, fmt.Errorf("syncstore: ingest %s/%s: read the fork of branch %s: %w", b.Device, b.Epoch, f.Epoch, err)
		}
		if !ok {
			break
		}
		chain, f = append(chain, g), g
	}
	return func(seq uint64) central.Epoch {
		e := into
		for _, f := range chain {
			if seq >= f.At {
				return e
			}
			e = f.Epoch
		}
		return e
	}, nil
}

// maxForks bounds the forks read back from a branch: a terminal restored
// more often than that has bigger problems than a fever withdrawn.
const maxForks = 1000

// Retakes returns the fevers that stored records withdraw: for each
// guard's override with reason retake-normal (a clinical thermometer read
// normal) that admitted the person, the fever of the overridden record
// (Override.Of, stored under epochOf(Of): the epoch of the records, or
// for a terminal's fork branch the epoch or earlier branch holding the
// records before the fork), named by its holder and its Source. A wrong
// PIN (no guard, refused) withdraws nothing.
func Retakes(device string, epochOf func(seq uint64) central.Epoch, recs []server.Record, contents []journal.Contents) []central.Fact {
	var out []central.Fact
	for i, r := range recs {
		c := contents[i]
		if r.Rec == nil || r.Rec.Override == nil || r.Rec.Override.Who == "" || r.Rec.Override.Why != gate.OverrideRetakeNormal ||
			r.Rec.Override.Of == 0 || r.Rec.Decision != passage.Admit || c.Holder == (credential.Holder{}) {
			continue
		}
		out = append(out, central.Fact{Holder: Holder(c.Holder), Kind: central.FactFever,
			Source: central.FeverSource(device, epochOf(uint64(r.Rec.Override.Of)), uint64(r.Rec.Override.Of))})
	}
	return out
}

// keptFevers reports the fevers an ingest kept or withdrew (OnFever) and
// logs those at a site that has no area yet, those that name no site (kept
// all the same) and those withdrawn.
func (a *Adapter) keptFevers(b *server.Batch, added, unplaced, siteless, withdrawn []central.Fact) {
	log := a.opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for _, f := range unplaced {
		log.Warn("a fever was kept at a site that has no area yet: it counts for the rules once ops add the site with `sentinel-central sites set`",
			"device", b.Device, "site", f.Site, "holder", f.Holder, "source", f.Source)
	}
	for _, f := range siteless {
		log.Warn("a fever of a terminal enrolled without a site was kept with no place: rules that ask where it was measured cannot place it; enrol the terminal to its site (sentinel-central devices add --site SITE)",
			"device", b.Device, "holder", f.Holder, "source", f.Source)
	}
	for _, f := range withdrawn {
		log.Info("a fever was withdrawn: the guard re-measured the temperature as normal (override retake-normal)",
			"device", b.Device, "holder", f.Holder, "source", f.Source)
	}
	if a.opts.OnFever != nil {
		for _, f := range added {
			a.opts.OnFever(f)
		}
		for _, f := range withdrawn {
			a.opts.OnFever(f)
		}
	}
}

func (a *Adapter) now() time.Time {
	if a.opts.Now != nil {
		return a.opts.Now()
	}
	return time.Now()
}

// open opens the sealed fields of every record of b, zero where they do
// not open. The data keys come from the batch and, once per (device,
// epoch) after a restart, from the store.
func (a *Adapter) open(ctx context.Context, b *server.Batch) ([]journal.Contents, error) {
	out := make([]journal.Contents, len(b.Records))
	if a.opener == nil {
		return out, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	keys := b.Keys
	epochs := []journal.Epoch{b.Epoch}
	if b.Branch != (journal.Epoch{}) {
		epochs = append(epochs, b.Branch) // a branch's keys are stored under it
	}
	for _, e := range epochs {
		if lk := (loadKey{b.Device, e}); !a.loaded[lk] {
			stored, err := a.store.Keys(ctx, b.Device, central.Epoch(e))
			if err != nil {
				return nil, err
			}
			keys = append(stored, keys...)
			a.loaded[lk] = true
		}
	}
	for _, k := range keys {
		if a.added[string(k)] {
			continue
		}
		// A key the centre cannot unwrap (an unenrolled terminal's
		// throwaway key) leaves its records' holders empty; it is not
		// tried again.
		a.opener.AddKey(k)
		a.added[string(k)] = true
	}
	for i := range b.Records {
		if r := b.Records[i].Rec; r != nil {
			if c, err := a.opener.Open(r); err == nil {
				out[i] = *c
			}
		}
	}
	return out, nil
}

// Holder returns the form of h that central.Record.Holder and trace
// queries use: credential.Holder's text form ("ZJ:42" for a native
// holder).
func Holder(h credential.Holder) string {
	if h == (credential.Holder{}) {
		return ""
	}
	return h.String()
}
