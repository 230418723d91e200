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
	// ObservedVariance and PredictedVariance are population variances
	// (ddof = 0).
	ObservedVariance, PredictedVariance float64
	// Fractional-savings-uncertainty terms (ASHRAE Guideline 14 as eemeter
	// computes them at its default 90 % confidence): NPrime =
	// N(1−ρ)/(1+ρ); DegreesOfFreedom = round(NPrime − NumParameters)
	// (half to even, as Python); TStat the t quantile at 0.95 for it;
	// CVRMSEAutoCorrCorrection = √((N−p)/(NPrime−p));
	// ApproxFactorAutoCorrCorrection = √(1 + 2/NPrime); FSUBaseTerm =
	// TStat·CVRMSEAdj·both corrections. NaN where eemeter has None.
	NPrime, DegreesOfFreedom, TStat                                       float64
	CVRMSEAutoCorrCorrection, ApproxFactorAutoCorrCorrection, FSUBaseTerm float64
}

// MetricsConfidenceLevel is the confidence level of the FSU terms in
// [Metrics] (eemeter ModelMetrics' default).
const MetricsConfidenceLevel = 0.90

// metricSums accumulates observed/predicted pairs in one pass. The sums
// are taken about the first pair (a shift that keeps them accurate for
// large loads) and turned into eemeter's metrics at the end.
type metricSums struct {
	n                     int
	o0, p0                float64 // shift
	so, sp, soo, spp, sop float64
	sr, srr, sar          float64
	// lag-1 residual pairs (r[i], r[i-1]) for pandas Series.autocorr
	a, b, aa, bb, ab, prev float64
}

func (s *metricSums) add(o, p float64) {
	if s.n == 0 {
		s.o0, s.p0 = o, p
	}
	do, dp := o-s.o0, p-s.p0
	s.so += do
	s.sp += dp
	s.soo += do * do
	s.spp += dp * dp
	s.sop += do * dp
	r := p - o
	s.sr += r
	s.srr += r * r
	if r < 0 {
		s.sar -= r
	} else {
		s.sar += r
	}
	if s.n > 0 {
		s.a += r
		s.b += s.prev
		s.aa += r * r
		s.bb += s.prev * s.prev
		s.ab += r * s.prev
	}
	s.prev = r
	s.n++
}

func (s *metricSums) metrics(numParams int) Metrics {
	m := Metrics{N: s.n, NumParameters: numParams}
	if s.n == 0 {
		nanAll(&m)
		return m
	}
	n := float64(s.n)
	mo, mp := s.o0+s.so/n, s.p0+s.sp/n
	soo := s.soo - s.so*s.so/n
	spp := s.spp - s.sp*s.sp/n
	sop := s.sop - s.so*s.sp/n
	sumObs := mo * n
	m.ObservedMean, m.PredictedMean = mo, mp
	corr := sop / math.Sqrt(soo*spp)
	m.RSquared = corr * corr
	m.RSquaredAdj = 1 - (1-m.RSquared)*(n-1)/(n-float64(numParams)-1)
	m.RMSE = math.Sqrt(s.srr / n)
	m.RMSEAdj = math.Sqrt(s.srr / (n - float64(numParams)))
	m.CVRMSE = m.RMSE / mo
	m.CVRMSEAdj = m.RMSEAdj / mo
	m.NMBE = s.sr / sumObs
	m.NMAE = s.sar / sumObs
	m.AutocorrResid = math.NaN()
	if s.n > 2 {
		k := n - 1
		cov := s.ab - s.a*s.b/k
		m.AutocorrResid = cov / math.Sqrt((s.aa-s.a*s.a/k)*(s.bb-s.b*s.b/k))
	}
	m.ObservedVariance, m.PredictedVariance = soo/n, spp/n
	m.fsuTerms()
	return m
}

// fsuTerms follows eemeter ModelMetrics (metrics.py) for the fractional
// savings uncertainty inputs.
func (m *Metrics) fsuTerms() {
	n, p := float64(m.N), float64(m.NumParameters)
	m.NPrime = n * (1 - m.AutocorrResid) / (1 + m.AutocorrResid)
	m.DegreesOfFreedom, m.TStat = math.NaN(), math.NaN()
	m.CVRMSEAutoCorrCorrection, m.ApproxFactorAutoCorrCorrection, m.FSUBaseTerm = math.NaN(), math.NaN(), math.NaN()
	if math.IsNaN(m.NPrime) || math.IsInf(m.NPrime, 0) {
		return
	}
	m.DegreesOfFreedom = math.RoundToEven(m.NPrime - p)
	if m.DegreesOfFreedom >= 1 && m.DegreesOfFreedom < 1e9 {
		// cached: the two-sided 10 % critical value is the 0.95 quantile
		m.TStat = math.Sqrt(criticalT2(int(m.DegreesOfFreedom), 1-MetricsConfidenceLevel))
	}
	if m.NPrime == 0 || m.NPrime-p == 0 || m.DegreesOfFreedom < 1 || n < p {
		return
	}
	m.CVRMSEAutoCorrCorrection = math.Sqrt((n - p) / (m.NPrime - p))
	m.ApproxFactorAutoCorrCorrection = math.Sqrt(1 + 2/m.NPrime)
	m.FSUBaseTerm = m.TStat * m.CVRMSEAdj * m.CVRMSEAutoCorrCorrection * m.ApproxFactorAutoCorrCorrection
}

func nanAll(m *Metrics) {
	for _, p := range []*float64{&m.ObservedMean, &m.PredictedMean, &m.RSquared, &m.RSquaredAdj, &m.RMSE, &m.RMSEAdj,
		&m.CVRMSE, &m.CVRMSEAdj, &m.NMBE, &m.NMAE, &m.AutocorrResid, &m.ObservedVariance, &m.PredictedVariance,
		&m.NPrime, &m.DegreesOfFreedom, &m.TStat, &m.CVRMSEAutoCorrCorrection, &m.ApproxFactorAutoCorrCorrection, &m.FSUBaseTerm} {
		*p = math.NaN()
	}
}
