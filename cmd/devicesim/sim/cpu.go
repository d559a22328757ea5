package sim

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CPUUse is the CPU time used so far by the parts that share the machine: courierd, the
// PostgreSQL server's processes, and this program (the simulator, or a benchmark that
// runs courierd in process, where Courierd stays zero and Simulator holds both).
type CPUUse struct {
	Courierd, Postgres, Simulator time.Duration
	PostgresSeen                  bool // PostgreSQL runs on this machine
	// postgres is each PostgreSQL process's time, so that Since counts a backend that
	// exited between two readings as nothing rather than as time taken back.
	postgres map[string]time.Duration
}

// userHZ is the unit of /proc's CPU times on Linux (USER_HZ), 100 on every architecture Go
// supports there.
const userHZ = 100

// CPUNow reads /proc; courierdPID 0 is none. PostgreSQL's processes are found by name; a
// backend that exited between two readings takes its time with it, which the connection
// pools make rare.
func CPUNow(courierdPID int) CPUUse {
	u := CPUUse{postgres: map[string]time.Duration{}}
	if courierdPID != 0 {
		u.Courierd, _ = processCPU(strconv.Itoa(courierdPID))
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if t, name := processCPU(e.Name()); name == "postgres" {
			u.Postgres += t
			u.postgres[e.Name()] = t
			u.PostgresSeen = true
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		u.Simulator = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return u
}

// processCPU is a process's user and system time and its command name.
func processCPU(pid string) (time.Duration, string) {
	b, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
	if err != nil {
		return 0, ""
	}
	// The name is in parentheses and may hold spaces; the fields after it are plain.
	open, closing := strings.IndexByte(string(b), '('), strings.LastIndexByte(string(b), ')')
	if open < 0 || closing < open {
		return 0, ""
	}
	fields := strings.Fields(string(b[closing+1:]))
	if len(fields) < 13 {
		return 0, ""
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / userHZ, string(b[open+1 : closing])
}

// Since is the CPU used between two readings.
func (u CPUUse) Since(before CPUUse) CPUUse {
	used := CPUUse{Courierd: u.Courierd - before.Courierd, Simulator: u.Simulator - before.Simulator, PostgresSeen: u.PostgresSeen}
	for pid, t := range u.postgres {
		used.Postgres += t - before.postgres[pid] // a process born since counts whole
	}
	return used
}
