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

func computeMetrics(obs, pred []float64, numParams int) Metrics {
	m := Metrics{N: len(obs), NumParameters: numParams}
	if m.N == 0 {
		nanAll(&m)
		return m
	}
	n := float64(m.N)
	var so, sp float64
	for i := range obs {
		so += obs[i]
		sp += pred[i]
	}
	mo, mp := so/n, sp/n
	var soo, spp, sop, sr, srr, sar float64
	for i := range obs {
		do, dp := obs[i]-mo, pred[i]-mp
		soo += do * do
		spp += dp * dp
		sop += do * dp
		r := pred[i] - obs[i]
		sr += r
		srr += r * r
		sar += math.Abs(r)
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
	// lag-1 autocorrelation of residuals (pandas Series.autocorr: Pearson
	// correlation of r[1:] with r[:-1]).
	if m.N > 2 {
		var a, b, aa, bb, ab float64
		k := n - 1
		for i := 1; i < m.N; i++ {
			a += pred[i] - obs[i]
			b += pred[i-1] - obs[i-1]
		}
		a, b = a/k, b/k
		for i := 1; i < m.N; i++ {
			x, y := pred[i]-obs[i]-a, pred[i-1]-obs[i-1]-b
			aa += x * x
			bb += y * y
			ab += x * y
		}
		m.AutocorrResid = ab / math.Sqrt(aa*bb)
	} else {
		m.AutocorrResid = math.NaN()
	}
	return m
}

func nanAll(m *Metrics) {
	for _, p := range []*float64{&m.ObservedMean, &m.PredictedMean, &m.RSquared, &m.RSquaredAdj, &m.RMSE, &m.RMSEAdj,
		&m.CVRMSE, &m.CVRMSEAdj, &m.NMBE, &m.NMAE, &m.AutocorrResid} {
		*p = math.NaN()
	}
}
