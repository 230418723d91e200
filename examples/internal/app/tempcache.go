package app

import (
	"sync"
	"time"

	"github.com/negawatt/negawatt/baseline"
)

// tempTTL bounds how long a station's temperature series, read for one
// window, serves later requests. This process's own uploads drop the
// station's entries at once; another process's upload (the Lambda
// ingester, a second server) is seen at most tempTTL late, as if the
// settlement had started that much earlier (the same bound as liveTTL).
const tempTTL = time.Second

// maxCachedTemps bounds the cache; past it the cache starts over.
const maxCachedTemps = 256

// tempCache memoizes station temperature series by (station, window):
// every customer settled for a month shares its station's series, and a
// settlement of one customer per request would otherwise read and convert
// the same rows each time. Series are shared read-only (baseline
// predictions and savings only read them).
type tempCache struct {
	mu  sync.Mutex
	gen map[string]uint64 // per station, bumped by forget
	m   map[tempKey]tempEntry
}

type tempKey struct {
	station  string
	from, to time.Time
}

type tempEntry struct {
	t  *baseline.Temperature
	at time.Time
}

// get returns the cached series (nil if absent or older than tempTTL) and
// the station's generation, to pass to put.
func (c *tempCache) get(k tempKey, now time.Time) (*baseline.Temperature, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok && now.Sub(e.at) < tempTTL && !now.Before(e.at) {
		return e.t, c.gen[k.station]
	}
	return nil, c.gen[k.station]
}

// put caches t, read at now, unless the station's series changed since
// get returned gen.
func (c *tempCache) put(k tempKey, gen uint64, t *baseline.Temperature, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen[k.station] != gen {
		return
	}
	if c.m == nil || len(c.m) >= maxCachedTemps {
		c.m = make(map[tempKey]tempEntry)
	}
	c.m[k] = tempEntry{t: t, at: now}
}

// forget drops the station's series (after an upload to it).
func (c *tempCache) forget(station string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == nil {
		c.gen = make(map[string]uint64)
	}
	c.gen[station]++
	for k := range c.m {
		if k.station == station {
			delete(c.m, k)
		}
	}
}
