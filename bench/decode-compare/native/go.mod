module sentinel/bench/decode-compare/native

go 1.26.0

require sentinel v0.0.0

require (
	github.com/makiuchi-d/gozxing v0.1.1 // indirect
	github.com/skip2/go-qrcode v0.0.0-20200617195104-da1b6568686e // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	golang.org/x/xerrors v0.0.0-20200804184101-5ec99f83aff1 // indirect
)

replace sentinel => ../../..
