package shc

// MaxQRVersion is the largest QR code version the specification allows
// for a SMART Health Card.
const MaxQRVersion = 22

// QRWarnings returns the warnings about the QR symbol a card was read
// from, given the version that the decoder reports (device/camera's
// Result.Version). The gate accepts such a card on its content: the
// symbol's size has no bearing on whether the card is genuine.
func QRWarnings(version int) []Warning {
	if version > MaxQRVersion {
		return []Warning{WarnQRVersion}
	}
	return nil
}
