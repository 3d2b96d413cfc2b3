// Package dcccorpus knows the layout of the EU DCC test corpus
// (../shared/corpus/eu-dcc): which certificate a PNG of a case should
// hold. The decoder's corpus test and bench/decode-compare both score
// against it.
package dcccorpus

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
)

// ImageDiffers lists the corpus PNGs (relative to the corpus, with
// slashes) whose QR code carries another certificate than the PREFIX of
// the case of the same name. Every decoder, ZBar and ZXing-C++ included,
// agrees on what they hold, so they are scored as unknown, not as misreads.
var ImageDiffers = map[string]bool{
	"ES/png/2101.png":     true,
	"ES/png/2102.png":     true,
	"ES/png/2103.png":     true,
	"GR/2DCode/png/3.png": true,
}

// Prefix returns the PREFIX field of the JSON case that belongs to a PNG
// file (<CC>/png/N.png or <CC>/2DCode/png/N.png, and <CC>/2DCode/raw/N.json),
// and false when there is no such case or it has no PREFIX.
func Prefix(png string) (string, bool) {
	name := strings.TrimSuffix(filepath.Base(png), filepath.Ext(png))
	cc := filepath.Dir(filepath.Dir(png))
	if filepath.Base(cc) == "2DCode" {
		cc = filepath.Dir(cc)
	}
	data, err := os.ReadFile(filepath.Join(cc, "2DCode", "raw", name+".json"))
	if err != nil {
		return "", false
	}
	var c struct {
		Prefix string `json:"PREFIX"`
	}
	if json.Unmarshal(data, &c) != nil || c.Prefix == "" {
		return "", false
	}
	return c.Prefix, true
}
