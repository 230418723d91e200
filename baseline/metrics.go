package baseline

import "math"

// Metrics are eemeter's ModelMetrics for a fitted model (metrics.py),
// comparing observed and predicted values over the complete baseline
// rows, unweighted. Residual = predicted − observed.
type Metrics struct {
	// N is the number of rows compared; NumParameters the model's betas
	// (0, 1 or 2; the intercept is not counted).
	N, NumParameters int
	ObservedMean     float64
	PredictedMean    float64
	// RSquared is the squared Pearson correlation of predicted and
	// observed; RSquaredAdj = 1 − (1−R²)(N−1)/(N−NumParameters−1).
	RSquared, RSquaredAdj float64
	// RMSE = √(Σr²/N); RMSEAdj = √(Σr²/(N−NumParameters)).
	RMSE, RMSEAdj float64
	// CVRMSE = RMSE/ObservedMean; CVRMSEAdj = RMSEAdj/ObservedMean.
	CVRMSE, CVRMSEAdj float64
	// NMBE = Σr / Σobserved; NMAE = Σ|r| / Σobserved.
	NMBE, NMAE float64
	// AutocorrResid is the lag-1 autocorrelation of the residuals.
	AutocorrResid float64
}

// computeMetrics compares usage per day (totals=false) or period totals
// (totals=true: eemeter's intercept·days + hdd·β·days) over the rows.
func computeMetrics(rows []BaselinePeriod, numParams int, totals bool, mod *Model) Metrics {
	m := Metrics{N: len(rows), NumParameters: numParams}
	if m.N == 0 {
		nanAll(&m)
		return m
	}
	pair := func(r *BaselinePeriod) (o, p float64) {
		if totals {
			return r.UsagePerDay * r.Days, mod.Intercept*r.Days + r.HDDPerDay*mod.BetaHDD*r.Days + r.CDDPerDay*mod.BetaCDD*r.Days
		}
		return r.UsagePerDay, r.PredictedPerDay
	}
	n := float64(m.N)
	var so, sp float64
	for i := range rows {
		o, p := pair(&rows[i])
		so += o
		sp += p
	}
	mo, mp := so/n, sp/n
	var soo, spp, sop, sr, srr, sar float64
	// lag-1 autocorrelation of residuals (pandas Series.autocorr: Pearson
	// correlation of r[1:] with r[:-1]) from raw sums over the residuals.
	var a, b, aa, bb, ab, prev float64
	for i := range rows {
		o, p := pair(&rows[i])
		do, dp := o-mo, p-mp
		soo += do * do
		spp += dp * dp
		sop += do * dp
		r := p - o
		sr += r
		srr += r * r
		sar += math.Abs(r)
		if i > 0 {
			a += r
			b += prev
			aa += r * r
			bb += prev * prev
			ab += r * prev
		}
		prev = r
	}
	m.ObservedMean, m.PredictedMean = mo, mp
	corr := sop / math.Sqrt(soo*spp)
	m.RSquared = corr * corr
	m.RSquaredAdj = 1 - (1-m.RSquared)*(n-1)/(n-float64(numParams)-1)
	m.RMSE = math.Sqrt(srr / n)
	m.RMSEAdj = math.Sqrt(srr / (n - float64(numParams)))
	m.CVRMSE = m.RMSE / mo
	m.CVRMSEAdj = m.RMSEAdj / mo
	m.NMBE = sr / so
	m.NMAE = sar / so
	m.AutocorrResid = math.NaN()
	if m.N > 2 {
		k := n - 1
		cov := ab - a*b/k
		m.AutocorrResid = cov / math.Sqrt((aa-a*a/k)*(bb-b*b/k))
	}
	return m
}

func nanAll(m *Metrics) {
	for _, p := range []*float64{&m.ObservedMean, &m.PredictedMean, &m.RSquared, &m.RSquaredAdj, &m.RMSE, &m.RMSEAdj,
		&m.CVRMSE, &m.CVRMSEAdj, &m.NMBE, &m.NMAE, &m.AutocorrResid} {
		*p = math.NaN()
	}
}
