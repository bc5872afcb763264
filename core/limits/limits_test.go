package limits

import "testing"

func TestParseMemory(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{in: "512m", want: 512 << 20},
		{in: "1g", want: 1 << 30},
		{in: "1.5G", want: 3 << 29},
		{in: "64MiB", want: 64 << 20},
		{in: "10485760", want: 10 << 20},
		{in: "lots", bad: true},
		{in: "", bad: true},
		{in: "-5m", bad: true},
		{in: "1k", bad: true}, // below Docker's minimum
		{in: "12q", bad: true},
		{in: "1e400m", bad: true},
	} {
		got, err := ParseMemory(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("ParseMemory(%q) = %d, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseMemory(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestParseCPUAndPids(t *testing.T) {
	if n, err := ParseCPU("0.5"); err != nil || n != 500_000_000 {
		t.Errorf("ParseCPU(0.5) = %d, %v", n, err)
	}
	for _, bad := range []string{"", "0", "-1", "abc", "NaN", "Inf", "1e-10", "0.009", "2000"} {
		if _, err := ParseCPU(bad); err == nil {
			t.Errorf("ParseCPU(%q) accepted", bad)
		}
	}
	if n, err := ParsePids("64"); err != nil || n != 64 {
		t.Errorf("ParsePids(64) = %d, %v", n, err)
	}
	for _, bad := range []string{"", "0", "-3", "1.5"} {
		if _, err := ParsePids(bad); err == nil {
			t.Errorf("ParsePids(%q) accepted", bad)
		}
	}
}

func TestFromLabelsOverridesOnlyWhatTheImageDeclares(t *testing.T) {
	def := Limits{NanoCPUs: 1e9, MemoryBytes: 512 << 20, PidsLimit: 512}
	got, err := FromLabels(map[string]string{LabelMemory: "64m", "other": "x"}, def)
	if err != nil {
		t.Fatal(err)
	}
	want := Limits{NanoCPUs: 1e9, MemoryBytes: 64 << 20, PidsLimit: 512}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if _, err := FromLabels(map[string]string{LabelPids: "many"}, def); err == nil {
		t.Error("an unparsable pids label was accepted")
	}
}
