package bundles_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/central/bundles"
	"sentinel/internal/central/bundles/bundlestest"
	"sentinel/internal/passage"
	"sentinel/internal/policy"
	"sentinel/internal/siteconfig"
)

func TestPrepare(t *testing.T) {
	now := time.Now()
	k := bundlestest.NewKeys(t, now)
	repo, err := bundles.Open(bundles.Options{Dir: t.TempDir(), Root: k.Root.Public(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	publish := func(kind trust.Kind, in bundles.Input) *bundles.Prepared {
		t.Helper()
		p, err := repo.Prepare(kind, in)
		if err != nil {
			t.Fatalf("prepare %s %s: %v", kind, in.Name, err)
		}
		if _, err := repo.Publish(kind, p.Payload, k.Signer, k.Delegation, time.Hour, 2*time.Hour); err != nil {
			t.Fatalf("publish %s %s: %v", kind, in.Name, err)
		}
		return p
	}
	src, err := os.ReadFile(filepath.Join("..", "..", "policy", "defaults", "compound.policy"))
	if err != nil {
		t.Fatal(err)
	}

	// A policy source before any config: it needs a site type.
	_, err = repo.Prepare(trust.KindPolicy, bundles.Input{Name: "compound.policy", Data: src})
	var ie *bundles.InputError
	if !errors.Is(err, bundles.ErrPayload) || !errors.As(err, &ie) || ie.Name != "compound.policy" || !strings.Contains(err.Error(), "--site-type") {
		t.Fatalf("policy without a site type: got %v", err)
	}
	p := publish(trust.KindPolicy, bundles.Input{Name: "compound.policy", Data: src, Policy: bundles.PolicyOptions{
		Site: siteconfig.Compound, Residents: []string{"ZJ:42", "ZJ:7"}, Yellow: passage.Refer}})
	if p.From != "a policy source file" || len(p.Notes) != 2 || !strings.Contains(p.Notes[1], "no config bundle is published") {
		t.Errorf("got %+v", p)
	}

	// A config for another site type is published, with a note; the
	// policy's site type is then checked against it.
	ex, _ := siteconfig.Example(siteconfig.Supermarket)
	p = publish(trust.KindConfig, bundles.Input{Name: "site.toml", Data: ex})
	if len(p.Notes) != 1 || !strings.Contains(p.Notes[0], "is for a compound: terminals run the default supermarket rules") {
		t.Errorf("config for another site type than the policy: notes %q", p.Notes)
	}
	_, err = repo.Prepare(trust.KindPolicy, bundles.Input{Name: "compound.policy", Data: src, Policy: bundles.PolicyOptions{Site: siteconfig.Compound}})
	if !errors.Is(err, policy.ErrSiteMismatch) || !errors.Is(err, bundles.ErrPayload) {
		t.Errorf("policy for another site type: got %v", err)
	}
	publish(trust.KindPolicy, bundles.Input{Name: "store.policy", Data: src})
	pub, _ := repo.Latest(trust.KindPolicy)
	b, _, err := trust.OpenBundle(pub.Data, k.Root.Public(), now, trust.State{})
	if err != nil {
		t.Fatal(err)
	}
	pb, err := policy.ParseBundle(b.Payload)
	if err != nil || pb.Site != siteconfig.Supermarket || !strings.HasPrefix(pb.Version, "store.policy ") || b.Version != 2 {
		t.Errorf("policy from the config's site type: %+v, %v", pb, err)
	}

	// A signed bundle of the right kind is signed again as the next version;
	// of another kind, refused.
	pub, _ = repo.Latest(trust.KindConfig)
	p = publish(trust.KindConfig, bundles.Input{Name: "config.bundle", Data: pub.Data})
	if p.From != "a signed config bundle (version 1)" {
		t.Errorf("from: %q", p.From)
	}
	if _, err := repo.Prepare(trust.KindTrust, bundles.Input{Name: "config.bundle", Data: pub.Data}); !errors.Is(err, trust.ErrWrongKind) {
		t.Errorf("a config bundle as trust: got %v", err)
	}
	// A policy saved by an editor that writes a byte order mark and CRLF.
	crlf := "\ufeff" + strings.ReplaceAll(string(src), "\n", "\r\n")
	publish(trust.KindPolicy, bundles.Input{Name: "windows.policy", Data: []byte(crlf)})

	// The payloads tests and the demo make still publish; a trust
	// bundle without the centre's key or the pseudonym key says so.
	p = publish(trust.KindTrust, bundles.Input{Name: "trust.payload", Data: bundlestest.Trust(t)})
	if len(p.Notes) != 2 || !strings.Contains(p.Notes[0], "no centre HPKE key") || !strings.Contains(p.Notes[1], "no pseudonym key") {
		t.Errorf("trust without keys: notes %q", p.Notes)
	}
	publish(trust.KindConfig, bundles.Input{Name: "site.config", Data: bundlestest.Config(t)})
}
