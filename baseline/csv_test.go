package baseline

import (
	"compress/gzip"
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func openGz(t testing.TB, path string) *gzip.Reader {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	return zr
}

func TestReadUsageCSV(t *testing.T) {
	nan := math.NaN()
	d := func(s string) time.Time { tt, _ := time.Parse(time.RFC3339, s); return tt.UTC() }
	tests := []struct {
		name    string
		in      string
		want    []Reading
		wantErr error
		line    int
	}{
		{"eemeter", "start,value\n2015-11-22T00:00:00-06:00,32.34\n2015-11-23T00:00:00-06:00,nan\n",
			[]Reading{{d("2015-11-22T06:00:00Z"), 32.34}, {d("2015-11-23T06:00:00Z"), nan}}, nil, 0},
		{"blank and NA are missing", "start,value\n2016-01-01T00:00:00Z,\n2016-01-02T00:00:00Z,NA\n",
			[]Reading{{d("2016-01-01T00:00:00Z"), nan}, {d("2016-01-02T00:00:00Z"), nan}}, nil, 0},
		{"plain dates are UTC", "start,value\n2016-01-01,1\n",
			[]Reading{{d("2016-01-01T00:00:00Z"), 1}}, nil, 0},
		{"bom and spaces", "\ufeffstart, value\n2016-01-01T00:00:00Z, 2.5\n",
			[]Reading{{d("2016-01-01T00:00:00Z"), 2.5}}, nil, 0},
		{"bad header", "time,value\n2016-01-01T00:00:00Z,1\n", nil, ErrBadHeader, 1},
		{"empty input", "", nil, ErrBadHeader, 1},
		{"header only", "start,value\n", nil, ErrEmpty, 0},
		{"bad timestamp", "start,value\n2016-01-01T00:00:00Z,1\n2016-13-01,2\n", nil, ErrBadTimestamp, 3},
		{"bad value", "start,value\n2016-01-01T00:00:00Z,abc\n", nil, ErrBadValue, 2},
		{"inf", "start,value\n2016-01-01T00:00:00Z,inf\n", nil, ErrNonFinite, 2},
		{"overflow", "start,value\n2016-01-01T00:00:00Z,1e999\n", nil, ErrNonFinite, 2},
		{"unsorted", "start,value\n2016-01-02T00:00:00Z,1\n2016-01-01T00:00:00Z,1\n", nil, ErrUnsorted, 3},
		{"duplicate across zones", "start,value\n2016-01-01T06:00:00Z,1\n2016-01-01T00:00:00-06:00,1\n", nil, ErrDuplicateTimestamp, 3},
		{"short row", "start,value\n2016-01-01T00:00:00Z\n", nil, ErrBadRow, 2},
		{"bad quoting", "start,value\n\"2016-01-01,1\n", nil, ErrBadRow, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := ReadUsageCSV(strings.NewReader(tc.in))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				var re *RowError
				if tc.line > 0 && (!errors.As(err, &re) || re.Line != tc.line) {
					t.Fatalf("err = %#v, want RowError at line %d", err, tc.line)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, u.Readings(), cmpopts.EquateNaNs()); diff != "" {
				t.Errorf("readings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadTemperatureCSV(t *testing.T) {
	tf, err := ReadTemperatureCSV(strings.NewReader("dt,tempF\n2016-01-01T00:00:00Z,50\n"))
	if err != nil || tf.Len() != 1 || tf.At(0).Value != 50 {
		t.Fatalf("tempF: %v %v", tf, err)
	}
	tc, err := ReadTemperatureCSV(strings.NewReader("dt,tempC\n2016-01-01T00:00:00Z,10\n2016-01-01T01:00:00Z,-40\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := []float64{tc.At(0).Value, tc.At(1).Value}; !cmp.Equal(got, []float64{50, -40}) {
		t.Errorf("tempC converted = %v, want [50 -40]", got)
	}
	_, err = ReadTemperatureCSV(strings.NewReader("dt,temp\n2016-01-01T00:00:00Z,10\n"))
	if !errors.Is(err, ErrBadHeader) {
		t.Errorf("err = %v, want ErrBadHeader", err)
	}
	_, err = ReadTemperatureCSV(strings.NewReader("dt,tempC\n2016-01-01T00:00:00Z,1e308\n"))
	if !errors.Is(err, ErrNonFinite) {
		t.Errorf("err = %v, want ErrNonFinite", err)
	}
}

func TestReadCSVSamples(t *testing.T) {
	u, err := ReadUsageCSV(openGz(t, "../testdata/eemeter/il-electricity-cdd-hdd-daily.csv.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if u.Len() != 810 || !math.IsNaN(u.At(809).Value) {
		t.Errorf("daily sample: %d readings, last %v", u.Len(), u.At(u.Len()-1))
	}
	tf, err := ReadTemperatureCSV(openGz(t, "../testdata/eemeter/il-tempF.csv.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if tf.Len() != 19417 {
		t.Errorf("temperature: %d readings, want 19417", tf.Len())
	}
	// nmecr's commercial building: "time","eload" with plain dates.
	nu, err := ReadUsageCSVWith(openGz(t, "../testdata/nmecr/eload.csv.gz"), CSVOptions{TimeColumn: "time", ValueColumn: "eload"})
	if err != nil {
		t.Fatal(err)
	}
	nt, err := ReadTemperatureCSVWith(openGz(t, "../testdata/nmecr/temp.csv.gz"), CSVOptions{TimeColumn: "time", ValueColumn: "temp", Unit: Fahrenheit})
	if err != nil {
		t.Fatal(err)
	}
	if nu.Len() != 1095 || nt.Len() != 1095 {
		t.Errorf("nmecr: %d usage, %d temperature readings, want 1095", nu.Len(), nt.Len())
	}
}

func TestNewUsageErrors(t *testing.T) {
	t0 := time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err := NewUsage(nil)
	if !errors.Is(err, ErrEmpty) {
		t.Errorf("empty: %v", err)
	}
	_, err = NewUsage([]Reading{{t0, 1}, {t0.Add(time.Hour), math.Inf(1)}})
	var re *RowError
	if !errors.Is(err, ErrNonFinite) || !errors.As(err, &re) || re.Index != 1 || !re.Time.Equal(t0.Add(time.Hour)) {
		t.Errorf("inf: %v", err)
	}
	in := []Reading{{t0, 1}, {t0.Add(time.Hour), math.NaN()}}
	u, err := NewUsage(in)
	if err != nil {
		t.Fatal(err)
	}
	in[0].Value = 99 // the Usage holds a copy
	if u.At(0).Value != 1 {
		t.Error("NewUsage did not copy its input")
	}
}

func FuzzReadUsageCSV(f *testing.F) {
	f.Add("start,value\n2015-11-22T00:00:00-06:00,32.34\n2015-11-23T00:00:00-06:00,nan\n")
	f.Add("start,value\n2016-01-01,1\n2016-01-01,2\n")
	f.Add("start,value\n\"2016-01-01T00:00:00Z\",\"1e5\"\n")
	f.Add("value,start\n1,2016-01-01T00:00:00Z\n")
	f.Fuzz(func(t *testing.T, in string) {
		u, err := ReadUsageCSV(strings.NewReader(in))
		if err != nil {
			if u != nil {
				t.Fatal("non-nil usage with error")
			}
			return
		}
		for i := 0; i < u.Len(); i++ {
			if math.IsInf(u.At(i).Value, 0) || (i > 0 && !u.At(i).Start.After(u.At(i-1).Start)) {
				t.Fatalf("invalid reading %d accepted: %v", i, u.At(i))
			}
		}
	})
}

func FuzzReadTemperatureCSV(f *testing.F) {
	f.Add("dt,tempF\n2015-11-22T00:00:00-06:00,21.01\n2015-11-22T01:00:00-06:00,20.35\n")
	f.Add("dt,tempC\n2015-11-22T00:00:00Z,-3\n")
	f.Add("dt,tempC\n2015-11-22T00:00:00Z,1.7e308\n")
	f.Fuzz(func(t *testing.T, in string) {
		tp, err := ReadTemperatureCSV(strings.NewReader(in))
		if err != nil {
			if tp != nil {
				t.Fatal("non-nil temperature with error")
			}
			return
		}
		for i := 0; i < tp.Len(); i++ {
			if math.IsInf(tp.At(i).Value, 0) || (i > 0 && !tp.At(i).Start.After(tp.At(i-1).Start)) {
				t.Fatalf("invalid reading %d accepted: %v", i, tp.At(i))
			}
		}
	})
}

func TestSpanTooLong(t *testing.T) {
	u, err := ReadUsageCSV(strings.NewReader("start,value\n0001-01-01T00:00:00Z,1\n9999-01-01T00:00:00Z,2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DailyUsage(u); !errors.Is(err, ErrSpanTooLong) {
		t.Errorf("DailyUsage: %v, want ErrSpanTooLong", err)
	}
	tp, err := ReadTemperatureCSV(strings.NewReader("dt,tempF\n1000-01-01T00:00:00Z,1\n3000-01-01T00:00:00Z,2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Fit(u, tp, BillingOptions()); !errors.Is(err, ErrSpanTooLong) {
		t.Errorf("Fit: %v, want ErrSpanTooLong", err)
	}
}
