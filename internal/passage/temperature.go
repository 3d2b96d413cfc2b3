package passage

import "periph.io/x/conn/v3/physic"

// TempState says whether and how a temperature was taken.
type TempState string

// Temperature states, as the gate, policy rules (temperature.state) and
// the display see them.
const (
	// TempNotTaken: the lane has no thermometer, or the code was refused
	// before the temperature mattered.
	TempNotTaken TempState = "not-taken"
	// TempOK: a reading of the person.
	TempOK TempState = "ok"
	// TempUnavailable: the thermometer has a fault (Fault says which).
	TempUnavailable TempState = "unavailable"
	// TempRetake: no stable reading of a forehead (the person moved or
	// stood too far): ask for a retake.
	TempRetake TempState = "retake"
)

// Faults of a temperature not taken, besides the sensor's own words for
// why it is unavailable (such as "no-answer" or "stuck").
const (
	// FaultNoPerson: a retake, nobody stood in front of the thermometer.
	FaultNoPerson = "no-person"
	// FaultUnstable: a retake, the reading did not settle (the person
	// moved, or something else is in the field of view).
	FaultUnstable = "unstable"
	// FaultCancelled: a retake, the passage was cancelled while measuring.
	FaultCancelled = "cancelled"
	// FaultError: unavailable, the thermometer failed in a way it did not
	// name.
	FaultError = "error"
)

// Temperature is the temperature taken at a passage. The journal keeps
// only a reading (State TempOK with Value, Ambient and Confidence): a
// temperature read back from it has State TempOK, or is the zero
// Temperature when none was taken (why not is in the reason codes).
type Temperature struct {
	State      TempState          `json:"state"`
	Value      physic.Temperature `json:"-"` // estimated core temperature
	Ambient    physic.Temperature `json:"-"`
	Confidence float64            `json:"confidence,omitempty"` // the thermometer's heuristic, 0 to 1
	// Fault is the sensor's reason in a stable word when unavailable
	// (such as "no-answer", or FaultError), FaultNoPerson, FaultUnstable
	// or FaultCancelled for a retake.
	Fault string `json:"fault,omitempty"`
}

// Available reports whether a reading of the person was taken.
func (t Temperature) Available() bool { return t.State == TempOK }

// Celsius returns the value in °C, or 0 when no reading was taken.
func (t Temperature) Celsius() float64 {
	if !t.Available() {
		return 0
	}
	return t.Value.Celsius()
}
