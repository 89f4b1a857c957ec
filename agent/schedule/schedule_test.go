package schedule_test

import (
	"testing"
	"time"
	_ "time/tzdata" // zones for the daylight-saving cases

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clay-agent/clay-agent/agent/schedule"
)

func TestParseDaily(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{in: "02:30", want: "daily at 02:30 UTC"},
		{in: "2:30", want: "daily at 02:30 UTC"},
		{in: " 23:59 ", want: "daily at 23:59 UTC"},
		{in: "00:00", want: "daily at 00:00 UTC"},
		{in: "24:00", wantErr: true},
		{in: "12:60", wantErr: true},
		{in: "12:5", wantErr: true},
		{in: "123:00", wantErr: true},
		{in: "-1:00", wantErr: true},
		{in: "+1:00", wantErr: true},
		{in: "1:-5", wantErr: true},
		{in: "02:30:00", wantErr: true},
		{in: "0230", wantErr: true},
		{in: "ab:cd", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			s, err := schedule.ParseDaily(tt.in, nil)
			if tt.wantErr {
				assert.ErrorIs(t, err, schedule.ErrInvalidSchedule)
				assert.Nil(t, s)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, s.String())
		})
	}
}

func TestDailyNext(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	lordHowe, err := time.LoadLocation("Australia/Lord_Howe")
	require.NoError(t, err)

	tests := []struct {
		name   string
		hour   int
		minute int
		loc    *time.Location
		after  time.Time
		want   time.Time
	}{
		{
			name: "later the same day", hour: 2, minute: 30, loc: time.UTC,
			after: time.Date(2024, 5, 1, 1, 0, 0, 0, time.UTC),
			want:  time.Date(2024, 5, 1, 2, 30, 0, 0, time.UTC),
		},
		{
			name: "exactly at the time: the next day", hour: 2, minute: 30, loc: time.UTC,
			after: time.Date(2024, 5, 1, 2, 30, 0, 0, time.UTC),
			want:  time.Date(2024, 5, 2, 2, 30, 0, 0, time.UTC),
		},
		{
			name: "end of year", hour: 0, minute: 0, loc: time.UTC,
			after: time.Date(2024, 12, 31, 23, 59, 59, 0, time.UTC),
			want:  time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		},
		{
			name: "in another zone: the zone's wall clock counts", hour: 2, minute: 30, loc: berlin,
			after: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), // 02:00 in Berlin
			want:  time.Date(2024, 5, 1, 0, 30, 0, 0, time.UTC),
		},
		{
			name: "after given in another zone", hour: 9, minute: 0, loc: ny,
			after: time.Date(2024, 5, 1, 14, 0, 0, 0, time.UTC), // 10:00 in New York
			want:  time.Date(2024, 5, 2, 13, 0, 0, 0, time.UTC),
		},
		{
			name: "spring forward: 02:30 does not exist, runs after the jump", hour: 2, minute: 30, loc: ny,
			after: time.Date(2024, 3, 10, 0, 0, 0, 0, ny),
			want:  time.Date(2024, 3, 10, 7, 30, 0, 0, time.UTC), // 03:30 EDT
		},
		{
			name: "spring forward in Berlin", hour: 2, minute: 30, loc: berlin,
			after: time.Date(2024, 3, 30, 12, 0, 0, 0, berlin),
			want:  time.Date(2024, 3, 31, 1, 30, 0, 0, time.UTC), // 03:30 CEST
		},
		{
			name: "half-hour jump on Lord Howe Island", hour: 2, minute: 15, loc: lordHowe,
			after: time.Date(2024, 10, 6, 0, 0, 0, 0, lordHowe),
			want:  time.Date(2024, 10, 5, 15, 45, 0, 0, time.UTC), // 02:45 +11:00
		},
		{
			name: "fall back: 01:30 happens twice, runs at the first", hour: 1, minute: 30, loc: ny,
			after: time.Date(2024, 11, 3, 0, 0, 0, 0, ny),
			want:  time.Date(2024, 11, 3, 5, 30, 0, 0, time.UTC), // 01:30 EDT
		},
		{
			name: "fall back: not again at the second 01:30", hour: 1, minute: 30, loc: ny,
			after: time.Date(2024, 11, 3, 5, 30, 0, 0, time.UTC),
			want:  time.Date(2024, 11, 4, 6, 30, 0, 0, time.UTC), // 01:30 EST the next day
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := schedule.Daily(tt.hour, tt.minute, tt.loc)
			require.NoError(t, err)
			got := s.Next(tt.after)
			assert.True(t, tt.want.Equal(got), "want %s, got %s", tt.want.UTC(), got.UTC())
			assert.True(t, got.After(tt.after))
		})
	}
}

func TestEvery(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{in: "6h", want: 6 * time.Hour},
		{in: "90m", want: 90 * time.Minute},
		{in: "0s", wantErr: true},
		{in: "-1h", wantErr: true},
		{in: "daily", wantErr: true},
		{in: "", wantErr: true},
	}
	at := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			s, err := schedule.ParseEvery(tt.in)
			if tt.wantErr {
				assert.ErrorIs(t, err, schedule.ErrInvalidSchedule)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, at.Add(tt.want), s.Next(at))
			assert.Equal(t, "every "+tt.want.String(), s.String())
		})
	}
}
