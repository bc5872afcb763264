// Package limits parses the resource limits an engine image may declare in its
// labels (com.galaxy.cpu_quota, com.galaxy.memory, com.galaxy.pids_limit) and
// their configured defaults. It is pure so the core can refuse an unparsable
// label as start_config_invalid before any Docker work.
package limits

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Limits are the resource limits of one engine container.
type Limits struct {
	NanoCPUs    int64
	MemoryBytes int64
	PidsLimit   int64
}

// ParseCPU parses a CPU quota in CPUs ("1.0", "0.5", "2") into nano-CPUs.
func ParseCPU(s string) (int64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	// Below 0.01 CPU Docker refuses the limit (and a quota rounding to zero
	// nano-CPUs would silently mean "unlimited").
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0.01 || f > 1024 {
		return 0, fmt.Errorf("cpu quota %q: want a number of CPUs from 0.01 to 1024, such as 1.0", s)
	}
	return int64(math.Round(f * 1e9)), nil
}

var memoryUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kb": 1 << 10, "ki": 1 << 10, "kib": 1 << 10,
	"m": 1 << 20, "mb": 1 << 20, "mi": 1 << 20, "mib": 1 << 20,
	"g": 1 << 30, "gb": 1 << 30, "gi": 1 << 30, "gib": 1 << 30,
	"t": 1 << 40, "tb": 1 << 40, "ti": 1 << 40, "tib": 1 << 40,
}

// minMemory is Docker's own lower bound for a container's memory limit.
const minMemory = 6 << 20

// ParseMemory parses a memory size with Docker's binary units ("512m", "1g", "1048576").
func ParseMemory(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], t[i:]
	}
	mult, ok := memoryUnits[unit]
	f, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || f <= 0 || math.IsInf(f, 0) {
		return 0, fmt.Errorf("memory %q: want a size such as 512m or 1g", s)
	}
	bytes := f * float64(mult)
	if bytes < minMemory || bytes > float64(math.MaxInt64/2) {
		return 0, fmt.Errorf("memory %q: out of range (at least 6m)", s)
	}
	return int64(bytes), nil
}

// ParsePids parses a positive process-count limit.
func ParsePids(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("pids limit %q: want a positive integer", s)
	}
	return n, nil
}

// Label keys an image may carry to override the defaults.
const (
	LabelCPU    = "com.galaxy.cpu_quota"
	LabelMemory = "com.galaxy.memory"
	LabelPids   = "com.galaxy.pids_limit"
)

// FromLabels overrides the defaults with the image's limit labels; an
// unparsable label is an error naming it.
func FromLabels(labels map[string]string, defaults Limits) (Limits, error) {
	out := defaults
	for _, f := range []struct {
		key   string
		parse func(string) (int64, error)
		dst   *int64
	}{
		{LabelCPU, ParseCPU, &out.NanoCPUs},
		{LabelMemory, ParseMemory, &out.MemoryBytes},
		{LabelPids, ParsePids, &out.PidsLimit},
	} {
		v, ok := labels[f.key]
		if !ok {
			continue
		}
		n, err := f.parse(v)
		if err != nil {
			return Limits{}, fmt.Errorf("image label %s: %v", f.key, err)
		}
		*f.dst = n
	}
	return out, nil
}
