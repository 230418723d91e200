// Package baseline fits CalTRACK 2.0 daily and billing-period baseline
// models that reproduce OpenEEmeter eemeter 2.10.11.
package baseline
