package ui_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"periph.io/x/conn/v3/physic"

	"sentinel/crypto/credential"
	"sentinel/internal/passage"
	"sentinel/internal/ui"
)

func ExampleNew() {
	display := ui.New(ui.Options{
		Lang:  "zh",
		Site:  "Huaxin supermarket",
		Lanes: []string{"in-1"},
		OnOverride: func(ctx context.Context, o ui.Override) error {
			// The gate checks the PIN and journals the override; it wraps
			// ui.ErrWrongPIN when the PIN is wrong.
			return nil
		},
		Location: time.FixedZone("CST", 8*3600),
	})
	defer display.Close()

	// The daemon serves the handler on 127.0.0.1:8080; a test server here.
	srv := httptest.NewServer(display.Handler())
	defer srv.Close()

	display.Show(ui.Shown{
		Lane:        "in-1",
		Verdict:     passage.Refer,
		Colour:      credential.ColourGreen,
		MaskedName:  "Zhang *",
		Temperature: passage.Temperature{State: passage.TempOK, Value: physic.ZeroCelsius + 37800*physic.MilliKelvin}, Fever: true,
		Reasons: []string{"fever"},
		Message: map[string]string{"en": "Temperature high. Retake it.", "zh": "体温偏高。请复测。"},
	})
	fmt.Printf("%+v\n", display.Counts())
	// Output: {Admitted:0 Refused:0 Referred:1 Overrides:0}
}
