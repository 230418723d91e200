// Package savings turns a fitted baseline and reporting-period data into
// savings facts ([Result]) that a rewards program pays on.
//
// It is pure code: no I/O, no clocks, no goroutines.
package savings
