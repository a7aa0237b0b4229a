package monitor

// tracked is a published status with its causes, and the evaluations a
// different status has held in a row. A new status is adopted (and
// reported) once the published one has been contradicted for `need`
// evaluations in a row; a flap back resets the count.
type tracked struct {
	set    bool
	status Status
	causes []string
	// metrics are the requests the causes were read from, adopted with them.
	metrics *PeriodMetrics
	held    int
	// deploying: the published status comes from a deployment command.
	deploying bool
}

// observe adopts s as observe does, and at once when s comes from a
// deployment command (deploying) or when the published status did and s is
// no worse than Info: Beanstalk shows "Command is executing" as the command
// starts and drops it as it ends, while failures still need to hold.
func (t *tracked) observeDeploy(s Status, causes []string, metrics *PeriodMetrics, need int, deploying bool) (from Status, changed bool) {
	if deploying || (t.deploying && !s.worse(StatusInfo)) {
		need = 1
	}
	from, changed = t.observe(s, causes, metrics, need)
	if changed || s == t.status {
		t.deploying = deploying
	}
	return from, changed
}

func (t *tracked) observe(s Status, causes []string, metrics *PeriodMetrics, need int) (from Status, changed bool) {
	if !t.set {
		// Everything starts Pending, as a new Beanstalk environment or
		// instance does, so that the first verdict is a transition with an
		// event ("... has transitioned from Pending to Ok.").
		t.set, t.status = true, StatusPending
	}
	if s == t.status {
		t.causes, t.metrics, t.held = causes, metrics, 0
		return "", false
	}
	t.held++
	// Leaving Pending needs no confirmation: it is the first verdict, not a flap.
	if t.held < need && t.status != StatusPending {
		return "", false
	}
	from = t.status
	t.status, t.causes, t.metrics, t.held = s, causes, metrics, 0
	return from, true
}
