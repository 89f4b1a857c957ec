package audit

// WithBeforeAppend sets a function that sees each record just before it
// is written, with its Prev set. When it returns an error the record is
// not written and Append returns that error, wrapped: a caller can refuse
// records (a policy, a full remote mirror) the same way a full disk does.
func WithBeforeAppend(f func(Record) error) Option {
	return func(o *options) { o.beforeAppend = f }
}

// WithPlan puts the digest of the plan being applied, and who approved it
// (empty when nobody did), on every record written that carries no plan
// of its own.
func WithPlan(digest, approvedBy string) Option {
	return func(o *options) { o.plan, o.approvedBy = digest, approvedBy }
}
