package console

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/elbow-lb/elbow/internal/console/apiv1"
)

// MaxLogLines bounds a log tail request; the fleet keeps at most its own
// tail in memory anyway (the whole output is in the instance's log file).
const MaxLogLines = 1000

// instanceLog serves GET /api/v1/instances/{id}/log?lines=N (default 100).
func (c *Console) instanceLog(w http.ResponseWriter, r *http.Request) {
	if !checkParams(w, r, "lines") {
		return
	}
	n := 100
	if v := r.URL.Query().Get("lines"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > MaxLogLines {
			writeError(w, http.StatusBadRequest, "InvalidParameterValue",
				fmt.Sprintf("parameter lines %q is not allowed: give a number of lines between 1 and %d", v, MaxLogLines))
			return
		}
	}
	if c.o.Logs == nil {
		writeError(w, http.StatusNotFound, "InvalidInstanceID.NotFound", "this environment launches no instances: its targets run elsewhere")
		return
	}
	id := r.PathValue("id")
	lines, file, ok := c.o.Logs(id, n)
	if !ok {
		writeError(w, http.StatusNotFound, "InvalidInstanceID.NotFound", fmt.Sprintf("no instance %q in this environment", id))
		return
	}
	if lines == nil {
		lines = []string{}
	}
	writeJSON(w, http.StatusOK, apiv1.InstanceLog{InstanceId: id, Lines: lines, LogFile: file})
}
