package scanner_test

import (
	"testing"

	"sentinel/device/scanner"
	"sentinel/device/scanner/scannertest"
)

func TestFakeContract(t *testing.T) {
	scanner.RunSourceContract(t, func(t *testing.T) scanner.Harness {
		f := scannertest.NewFake("fake lane", nil)
		return scanner.Harness{Src: f, Emit: func(t *testing.T, texts ...string) {
			for _, x := range texts {
				f.Push(x)
			}
		}}
	})
}
