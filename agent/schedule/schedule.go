package schedule

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrInvalidSchedule marks a schedule that cannot be used: a bad time of
// day, a non-positive interval.
var ErrInvalidSchedule = errors.New("invalid schedule")

// Schedule says when runs are due.
type Schedule interface {
	// Next returns the first due time strictly after after.
	Next(after time.Time) time.Time
	String() string
}

type daily struct {
	hour, minute int
	loc          *time.Location
}

// Daily is due every day at hour:minute on the wall clock of loc (UTC when
// nil). On a day when that time does not exist because clocks jump
// forward, the run happens at the corresponding time after the jump; on a
// day when it occurs twice, it runs once, at the first.
func Daily(hour, minute int, loc *time.Location) (Schedule, error) {
	if hour < 0 || hour > 23 || minute < 0 || minute > 59 {
		return nil, fmt.Errorf("%w: time of day %02d:%02d", ErrInvalidSchedule, hour, minute)
	}
	if loc == nil {
		loc = time.UTC
	}
	return daily{hour: hour, minute: minute, loc: loc}, nil
}

// ParseDaily parses a time of day written "HH:MM" (24-hour clock, e.g.
// "02:30" or "2:30") into a Daily schedule in loc.
func ParseDaily(s string, loc *time.Location) (Schedule, error) {
	hh, mm, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || len(hh) < 1 || len(hh) > 2 || len(mm) != 2 {
		return nil, fmt.Errorf("%w: %q is not HH:MM", ErrInvalidSchedule, s)
	}
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if err1 != nil || err2 != nil || hh[0] == '+' || hh[0] == '-' || mm[0] == '+' || mm[0] == '-' {
		return nil, fmt.Errorf("%w: %q is not HH:MM", ErrInvalidSchedule, s)
	}
	return Daily(h, m, loc)
}

func (d daily) Next(after time.Time) time.Time {
	local := after.In(d.loc)
	y, mo, day := local.Date()
	for i := range 3 {
		if t := d.on(y, mo, day+i); t.After(after) {
			return t
		}
	}
	// Unreachable for real zones: one of three consecutive days is later.
	return d.on(y, mo, day+3)
}

// on returns the run time on the given day. When the clocks jump forward
// over hour:minute, it is that wall time read with the offset in force
// before the jump, which lands after the jump (02:30 becomes 03:30).
func (d daily) on(y int, mo time.Month, day int) time.Time {
	t := time.Date(y, mo, day, d.hour, d.minute, 0, 0, d.loc)
	if w := t.In(d.loc); w.Hour() == d.hour && w.Minute() == d.minute {
		return t
	}
	_, before := t.Add(-24 * time.Hour).In(d.loc).Zone()
	return time.Date(y, mo, day, d.hour, d.minute, 0, 0, time.FixedZone("", before)).In(d.loc)
}

func (d daily) String() string {
	return fmt.Sprintf("daily at %02d:%02d %s", d.hour, d.minute, d.loc)
}

type every struct{ d time.Duration }

// Every is due every d, counted from the previous due time (the first is d
// after the runner starts).
func Every(d time.Duration) (Schedule, error) {
	if d <= 0 {
		return nil, fmt.Errorf("%w: interval %s is not positive", ErrInvalidSchedule, d)
	}
	return every{d: d}, nil
}

// ParseEvery parses an interval such as "6h" or "30m" (time.ParseDuration
// syntax) into an Every schedule.
func ParseEvery(s string) (Schedule, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidSchedule, err)
	}
	return Every(d)
}

func (e every) Next(after time.Time) time.Time { return after.Add(e.d) }

func (e every) String() string { return "every " + e.d.String() }
