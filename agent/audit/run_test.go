package audit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// member is a stand-in for the state before an action.
type member struct {
	Email string `json:"email"`
	Role  string `json:"role"`
}

// readRecords returns the records of the log at path.
func readRecords(t *testing.T, path string) []Record {
	t.Helper()
	var out []Record
	for _, line := range readLines(t, path) {
		out = append(out, decode(t, line))
	}
	return out
}

type step struct {
	target, outcome string
}

func TestRun(t *testing.T) {
	targets := []string{"a@x.test", "b@x.test", "c@x.test", "d@x.test"}
	canceled, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("SIGINT"))

	tests := []struct {
		name        string
		ctx         context.Context
		steps       []step
		finishErr   error
		want        []step // records Finish writes, in order
		wantFinal   string
		wantDetail  string
		wantTargets map[string]string // detail substring for each closing record
	}{
		{
			name:       "all done",
			ctx:        context.Background(),
			steps:      []step{{"a@x.test", OutcomeRemoved}, {"b@x.test", OutcomeAlreadyAbsent}, {"c@x.test", OutcomeRemoved}, {"d@x.test", OutcomeRefused}},
			want:       nil,
			wantFinal:  OutcomeFinished,
			wantDetail: "2 removed, 1 already-absent, 1 refused",
		},
		{
			name:       "error leaves the rest not attempted",
			ctx:        context.Background(),
			steps:      []step{{"a@x.test", OutcomeRemoved}},
			finishErr:  context.Canceled,
			want:       []step{{"b@x.test", OutcomeNotAttempted}, {"c@x.test", OutcomeNotAttempted}, {"d@x.test", OutcomeNotAttempted}},
			wantFinal:  OutcomeAborted,
			wantDetail: "context canceled (1 removed, 3 not-attempted)",
			wantTargets: map[string]string{
				"b@x.test": "interrupted: context canceled",
			},
		},
		{
			name:       "a started target is interrupted, not unattempted",
			ctx:        context.Background(),
			steps:      []step{{"a@x.test", OutcomeRemoved}, {"b@x.test", OutcomeStarted}},
			finishErr:  errors.New("chrome exited"),
			want:       []step{{"b@x.test", OutcomeInterrupted}, {"c@x.test", OutcomeNotAttempted}, {"d@x.test", OutcomeNotAttempted}},
			wantFinal:  OutcomeAborted,
			wantDetail: "chrome exited (1 removed, 1 interrupted, 2 not-attempted)",
			wantTargets: map[string]string{
				"b@x.test": "may or may not have been made",
				"c@x.test": "interrupted: chrome exited",
			},
		},
		{
			name:       "a canceled context aborts a run finished without an error",
			ctx:        canceled,
			steps:      []step{{"a@x.test", OutcomeRemoved}, {"b@x.test", OutcomeRemoved}, {"c@x.test", OutcomeRemoved}},
			want:       []step{{"d@x.test", OutcomeNotAttempted}},
			wantFinal:  OutcomeAborted,
			wantDetail: "SIGINT (3 removed, 1 not-attempted)",
			wantTargets: map[string]string{
				"d@x.test": "interrupted: SIGINT",
			},
		},
		{
			name:       "targets outside the plan count too",
			ctx:        context.Background(),
			steps:      []step{{"a@x.test", OutcomeRemoved}, {"b@x.test", OutcomeRemoved}, {"c@x.test", OutcomeRemoved}, {"d@x.test", OutcomeRemoved}, {"e@x.test", OutcomeStarted}},
			want:       []step{{"e@x.test", OutcomeInterrupted}},
			wantFinal:  OutcomeFinished,
			wantDetail: "4 removed, 1 interrupted",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, path := openTemp(t, WithActor("ops"), WithWorkspace("1234"))
			run := l.Plan(tt.ctx, "offboard", targets)
			for _, s := range tt.steps {
				require.NoError(t, run.Done(s.target, s.outcome, "", member{Email: s.target, Role: "Editor"}, []string{run.ID() + "-" + s.target + ".png"}))
			}
			require.NoError(t, run.Finish(tt.finishErr))
			require.NoError(t, run.Err())

			recs := readRecords(t, path)
			require.Len(t, recs, 1+len(tt.steps)+len(tt.want)+1)
			for _, r := range recs {
				assert.Equal(t, run.ID(), r.RunID)
				assert.Equal(t, "offboard", r.Command)
				assert.Equal(t, "ops", r.Actor)
				assert.Equal(t, "1234", r.Workspace)
			}
			plan := recs[0]
			assert.Equal(t, OutcomePlanned, plan.Outcome)
			assert.Equal(t, run.ID(), plan.ID)
			assert.Equal(t, targets, plan.Targets)

			done := recs[1 : 1+len(tt.steps)]
			for i, s := range tt.steps {
				assert.Equal(t, s.target, done[i].Target)
				assert.Equal(t, s.outcome, done[i].Outcome)
				assert.JSONEq(t, fmt.Sprintf(`{"email":%q,"role":"Editor"}`, s.target), string(done[i].Before))
				assert.Equal(t, []string{run.ID() + "-" + s.target + ".png"}, done[i].Evidence)
			}

			closing := recs[1+len(tt.steps) : len(recs)-1]
			for i, w := range tt.want {
				assert.Equal(t, w.target, closing[i].Target)
				assert.Equal(t, w.outcome, closing[i].Outcome)
				if sub, ok := tt.wantTargets[w.target]; ok {
					assert.Contains(t, closing[i].Detail, sub)
				}
			}
			final := recs[len(recs)-1]
			assert.Equal(t, tt.wantFinal, final.Outcome)
			assert.Equal(t, tt.wantDetail, final.Detail)
			assert.Empty(t, final.Target)

			n, err := VerifyFile(path)
			require.NoError(t, err)
			assert.Equal(t, len(recs), n)
		})
	}
}

func TestRunFinishTwiceAndDoneAfterFinish(t *testing.T) {
	l, path := openTemp(t)
	run := l.Plan(context.Background(), "offboard", []string{"a@x.test"})
	require.NoError(t, run.Finish(errors.New("timeout")))
	require.NoError(t, run.Finish(nil), "a second Finish does nothing")
	err := run.Done("a@x.test", OutcomeRemoved, "", nil, nil)
	assert.True(t, errors.Is(err, ErrRunFinished), "got %v", err)
	assert.Len(t, readRecords(t, path), 3, "planned, not-attempted, aborted")
}

func TestRunReportsWriteErrors(t *testing.T) {
	l, _ := openTemp(t)
	require.NoError(t, l.Close())
	run := l.Plan(context.Background(), "offboard", []string{"a@x.test"})
	require.Error(t, run.Err())
	assert.True(t, errors.Is(run.Err(), os.ErrClosed))
	assert.Error(t, run.Done("a@x.test", OutcomeRemoved, "", nil, nil))
	assert.Error(t, run.Finish(nil))

	l2, _ := openTemp(t)
	run2 := l2.Plan(context.Background(), "offboard", nil)
	err := run2.Done("a@x.test", OutcomeRemoved, "", func() {}, nil)
	require.Error(t, err, "a state that cannot be encoded is an error")
	assert.Equal(t, err, run2.Err())
}
