package journal

import (
	"sort"
	"time"
)

// AlarmKind names a journal alarm.
type AlarmKind string

// Alarms the journal raises.
const (
	// AlarmCorrupt: the journal file could not be used and was moved aside;
	// a new epoch started. It stays raised while the journal is open.
	AlarmCorrupt AlarmKind = "journal-corrupt"
	// AlarmCommit: the last commit failed (disk full, I/O error); passages
	// are not being recorded and the gate stays shut. Cleared by the next
	// successful commit.
	AlarmCommit AlarmKind = "journal-commit"
	// AlarmDisk: the disk is more than DiskLimit full; acknowledged records
	// were purged early. Cleared by a Purge that finds the disk below it.
	AlarmDisk AlarmKind = "journal-disk"
	// AlarmPurge: the periodic purge failed. Cleared by the next success.
	AlarmPurge AlarmKind = "journal-purge"
)

// Alarm is a condition the guard's display and the centre must see.
type Alarm struct {
	Kind    AlarmKind `json:"kind"`
	At      time.Time `json:"at"`
	Message string    `json:"message"`
	MovedTo string    `json:"moved_to,omitempty"` // AlarmCorrupt: where the old file is
}

// Alarms returns the alarms raised and not cleared, by kind.
func (j *Journal) Alarms() []Alarm {
	j.alarmMu.Lock()
	defer j.alarmMu.Unlock()
	out := make([]Alarm, 0, len(j.alarms))
	for _, a := range j.alarms {
		out = append(out, a)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Kind < out[b].Kind })
	return out
}

func (j *Journal) raise(a Alarm) {
	j.alarmMu.Lock()
	j.alarms[a.Kind] = a
	j.alarmMu.Unlock()
	if j.opts.OnAlarm != nil {
		j.opts.OnAlarm(a)
	}
}

func (j *Journal) clear(k AlarmKind) {
	j.alarmMu.Lock()
	delete(j.alarms, k)
	j.alarmMu.Unlock()
}
